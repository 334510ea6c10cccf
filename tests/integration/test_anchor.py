"""The scenario's step 6 through real processes: a hub with a Hong Kong and a Shenzhen witness.

Pearl River anchors Bayline's 2025 VAT summary field by field; Bayline discloses three fields;
with the hub and both witnesses stopped, the bank verifies the disclosure offline against the
log key and both witness keys. A revocation then shows up through a saved status document.
"""

import json
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import bayflow, cli_env, free_port, running

pytestmark = pytest.mark.slow

PEARL_RIVER_USCC = "91440400MA5H3Q8R0D"
VAT_SUMMARY = {
    "taxpayer": "91440300MA5G7K2P0C",
    "taxpayer_name": "Qianhai Bayline Logistics Co., Ltd.",
    "period": "2025",
    "total_sales": "48200000.00",
    "total_tax": "2892000.00",
    "invoices": 1873,
    "sole_proprietor_customers": 4000,
}


def ok(*args: str, env: dict[str, str]) -> str:
    result = bayflow(*args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)


@contextmanager
def hub(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[str]]:
    url = f"http://127.0.0.1:{port}"
    with running(["serve", "--port", str(port)], env, f"{url}/healthz") as process:
        yield process
        stop(process)


@dataclass(frozen=True)
class Scenario:
    """What the bank holds once the hub and the witnesses are gone, and how to reach the CLI."""

    env: dict[str, str]
    trust: list[str]
    record: Path
    disclosed: Path
    invoice: Path
    status: Path


def _witnesses(home: Path, env: dict[str, str], log_key: str) -> tuple[list[str], list[list[str]]]:
    """Two witness keys, and the commands that serve them; their URLs are the hub's settings."""
    keys, commands = [], []
    for name in ("hk", "sz"):
        key_file = home / f"{name}.key"
        keys.append(
            ok(
                "witness", "keygen", "--key-file", str(key_file),
                "--name", f"witness.{name}.example/w1",
                env=env,
            ).strip()
        )  # fmt: skip
        commands.append(
            [
                "witness", "serve", "--key-file", str(key_file), "--log-key", log_key,
                "--port", str(free_port()),
            ]
        )  # fmt: skip
    return keys, commands


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    home = tmp_path_factory.mktemp("anchor")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = cli_env(home / "data", BAYFLOW_URL=url, BAYFLOW_PUBLIC_URL=url)
    ok("db", "upgrade", env=env)

    # The first start creates the log key; Pearl River is admitted meanwhile.
    pearl_key = home / "pearl-river.key"
    with hub(env, port):
        log_key = httpx.get(f"{url}/ledger/key", timeout=10).text.strip()
        ok(
            "org", "register", "--name", "Pearl River e-Invoice Services Co., Ltd.",
            "--jurisdiction", "CN", "--city", "Zhuhai", "--uscc", PEARL_RIVER_USCC,
            "--key-out", str(pearl_key),
            env=env,
        )  # fmt: skip

    witness_keys, witness_commands = _witnesses(home, env, log_key)
    witness_urls = [f"http://127.0.0.1:{command[-1]}" for command in witness_commands]
    hub_env = {
        **env,
        "BAYFLOW_WITNESS_URLS": " ".join(witness_urls),
        "BAYFLOW_WITNESS_KEYS": " ".join(witness_keys),
    }
    record = home / "vat-summary-2025.json"
    record.write_text(json.dumps(VAT_SUMMARY, ensure_ascii=False), encoding="utf-8")
    invoice = home / "e-invoice-0001.pdf"
    invoice.write_bytes(b"%PDF-1.7\n% Pearl River e-invoice 0001\n")
    status = home / "e-invoice-0001.status.json"
    as_pearl = ["--key", str(pearl_key)]

    with ExitStack() as stack:
        witnesses = [
            stack.enter_context(running(command, env, f"{witness_url}/"))
            for command, witness_url in zip(witness_commands, witness_urls, strict=True)
        ]
        with hub(hub_env, port):
            ok(
                "anchor", "--record", str(record), "--fields",
                "--schema", "vat-annual-summary/1", *as_pearl,
                env=hub_env,
            )  # fmt: skip
            ok("anchor", str(invoice), "--schema", "vat-e-invoice/1", *as_pearl, env=hub_env)
            ok("revoke", str(invoice), *as_pearl, env=hub_env)
            ok("status", str(invoice), "--out", str(status), env=hub_env)
        for process in witnesses:
            stop(process)

    # Bayline hands over three fields; the record itself stays with Bayline.
    disclosed = home / "vat-summary-2025.disclosed.json"
    ok(
        "disclose", str(record), "--fields", "total_sales,total_tax,period",
        "--out", str(disclosed),
        env=env,
    )  # fmt: skip
    # Nothing is listening any more: whatever follows is offline.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)
    trust = ["--log-key", log_key]
    for vkey in witness_keys:
        trust += ["--witness-key", vkey]
    return Scenario(env, trust, record, disclosed, invoice, status)


class TestAnchorAndVerifyThroughAHub:
    """What is anchored through the hub verifies offline with the log and both witnesses."""

    def test_the_disclosed_fields_verify_offline_and_nothing_else_shows(
        self, scenario: Scenario
    ) -> None:
        assert "91440300MA5G7K2P0C" not in scenario.disclosed.read_text()
        proof = f"{scenario.record}.proof"
        args = ["verify", str(scenario.disclosed), "--proof", proof, *scenario.trust]
        result = json.loads(ok(*args, env=scenario.env))
        assert result["disclosed"] == {
            "period": "2025",
            "total_sales": "48200000.00",
            "total_tax": "2892000.00",
        }
        assert result["cosigned_by"] == ["witness.hk.example/w1", "witness.sz.example/w1"]
        assert result["kind"] == "record-fields"
        assert result["issuer"].startswith("org_")

    def test_a_tampered_disclosure_exits_17(self, scenario: Scenario, tmp_path: Path) -> None:
        tampered = json.loads(scenario.disclosed.read_text())
        tampered["disclosed"][1][2] = "1.00"
        forged = tmp_path / "forged.json"
        forged.write_text(json.dumps(tampered))
        proof = f"{scenario.record}.proof"
        refused = bayflow(
            "verify", str(forged), "--proof", proof, *scenario.trust, env=scenario.env
        )
        assert refused.returncode == 17, refused.stderr

    def test_the_revoked_invoice_verifies_until_its_status_is_checked(
        self, scenario: Scenario
    ) -> None:
        invoice = scenario.invoice
        args = ["verify", str(invoice), "--proof", f"{invoice}.proof"]
        args += ["--salt", f"{invoice}.salt", *scenario.trust]
        assert bayflow(*args, env=scenario.env).returncode == 0
        revoked = bayflow(*args, "--status", str(scenario.status), env=scenario.env)
        assert revoked.returncode == 18, revoked.stderr
        assert "revoked commitment" in revoked.stderr
