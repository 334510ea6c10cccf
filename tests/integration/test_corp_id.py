"""Corp ID as its users meet it: the CLI and the Python client against a real hub."""

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bayflow.client import BayflowClient
from bayflow.errors import NotFound
from tests.integration.conftest import bayflow, cli_env, free_port, running

pytestmark = pytest.mark.slow

BAYLINE_USCC = "91440300MA5G7K2P0C"
LION_ROCK_BRN = "12345678"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    home = tmp_path_factory.mktemp("corp-id")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = cli_env(home / "data", BAYFLOW_URL=url, BAYFLOW_PUBLIC_URL=url)
    assert bayflow("db", "upgrade", env=env).returncode == 0
    with running(["serve", "--port", str(port)], env, f"{url}/healthz") as process:
        yield url, env, home
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def ok(*args: str, env: dict[str, str]) -> str:
    result = bayflow(*args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


class TestCorpIDFromTheCommandLine:
    """The operator admits organisations; their administrators manage people and mandates."""

    def test_the_first_start_writes_the_operator_key_file(
        self, hub: tuple[str, dict[str, str], Path]
    ) -> None:
        _, env, home = hub
        operator_key = home / "data" / "operator.key"
        assert operator_key.stat().st_mode & 0o777 == 0o600
        me = json.loads(ok("org", "whoami", env=env))
        assert me["organisation"]["is_operator"] is True

    def test_a_bad_registry_number_is_refused_naming_the_check(
        self, hub: tuple[str, dict[str, str], Path]
    ) -> None:
        _, env, home = hub
        result = bayflow(
            "org",
            "register",
            "--name",
            "Typo Ltd",
            "--jurisdiction",
            "CN",
            "--city",
            "Shenzhen",
            "--uscc",
            "91440300MA5G7K2P0X",
            "--key-out",
            str(home / "typo.key"),
            env=env,
        )
        assert result.returncode == 65
        assert result.stderr.count("\n") == 1
        assert "mod 31" in result.stderr
        assert not (home / "typo.key").exists()

    def test_the_scenario_organisations_and_mandates(
        self, hub: tuple[str, dict[str, str], Path]
    ) -> None:
        url, env, home = hub
        bayline_key, lionrock_key = home / "bayline.key", home / "lionrock.key"
        out = ok(
            "org",
            "register",
            "--name",
            "Qianhai Bayline Logistics Co., Ltd.",
            "--name-zh",
            "深圳前海湾线物流有限公司",
            "--jurisdiction",
            "CN",
            "--city",
            "Shenzhen",
            "--uscc",
            BAYLINE_USCC,
            "--key-out",
            str(bayline_key),
            env=env,
        )
        assert out.startswith("registered org_")
        assert bayline_key.stat().st_mode & 0o777 == 0o600
        ok(
            "org",
            "register",
            "--name",
            "Lion Rock Bank Limited",
            "--name-zh",
            "獅子山銀行有限公司",
            "--jurisdiction",
            "HK",
            "--city",
            "Hong Kong",
            "--brn",
            LION_ROCK_BRN,
            "--key-out",
            str(lionrock_key),
            env=env,
        )
        again = bayflow(
            "org",
            "register",
            "--name",
            "Bayline again",
            "--jurisdiction",
            "CN",
            "--city",
            "Shenzhen",
            "--uscc",
            BAYLINE_USCC,
            "--key-out",
            str(home / "dup.key"),
            env=env,
        )
        assert again.returncode == 75
        assert "exists" in again.stderr

        as_bayline = [*(), "--key", str(bayline_key)]
        chen = ok(
            "person",
            "add",
            "--name",
            "Chen Wei",
            "--name-zh",
            "陈伟",
            "--role",
            "director",
            "--key-out",
            str(home / "chen.key"),
            *as_bayline,
            env=env,
        )
        chen_id = chen.split()[1]
        li = ok(
            "person",
            "add",
            "--name",
            "Li Na",
            "--role",
            "delegate",
            "--key-out",
            str(home / "li.key"),
            *as_bayline,
            env=env,
        )
        li_id = li.split()[1]
        mandate = json.loads(
            ok(
                "mandate",
                "add",
                "--description",
                "one director up to RMB 2,000,000",
                "--role",
                "director",
                "--min-signers",
                "1",
                "--limit",
                "CNY 2,000,000",
                *as_bayline,
                env=env,
            )
        )
        assert mandate["limit"] == {"currency": "CNY", "amount": "2000000.00"}

        refused = bayflow(
            "mandate",
            "check",
            "--signer",
            li_id,
            "--action",
            "consent:approve",
            *as_bayline,
            env=env,
        )
        assert refused.returncode == 1
        assert "needs 1 signer(s) with role director; 0 signed" in refused.stdout
        allowed = ok(
            "mandate",
            "check",
            "--signer",
            chen_id,
            "--action",
            "consent:approve",
            *as_bayline,
            env=env,
        )
        assert allowed.startswith(f"allowed under mandate {mandate['id']}")
        too_much = bayflow(
            "mandate",
            "check",
            "--signer",
            chen_id,
            "--action",
            "loan:sign",
            "--amount",
            "CNY 3000000",
            *as_bayline,
            env=env,
        )
        assert too_much.returncode == 1

        # A delegate may not manage people (no org:admin scope).
        denied = bayflow(
            "person",
            "add",
            "--name",
            "Mallory",
            "--key-out",
            str(home / "m.key"),
            "--key",
            str(home / "li.key"),
            env=env,
        )
        assert denied.returncode == 77

        # Another organisation's records do not exist for the bank.
        bayline_id = json.loads(ok("org", "whoami", *as_bayline, env=env))["organisation"]["id"]
        hidden = bayflow("org", "show", bayline_id, "--key", str(lionrock_key), env=env)
        assert hidden.returncode == 66
        missing = bayflow("org", "show", "org_" + "a" * 26, "--key", str(lionrock_key), env=env)
        assert missing.returncode == 66
        assert hidden.stderr.replace(bayline_id, "ID") == missing.stderr.replace(
            "org_" + "a" * 26, "ID"
        )
        # ...but its public registry facts can be looked up.
        found = json.loads(
            ok("org", "find", "--uscc", BAYLINE_USCC, "--key", str(lionrock_key), env=env)
        )
        assert found["id"] == bayline_id
        assert found["legal_name_zh"] == "深圳前海湾线物流有限公司"

        # did:web document, and key rotation keeps the retired key published.
        did = httpx.get(f"{url}/orgs/{bayline_id}/did.json").json()
        assert did["id"].startswith("did:web:127.0.0.1%3A")
        assert did["id"].endswith(f":orgs:{bayline_id}")
        before = {m["publicKeyJwk"]["kid"] for m in did["verificationMethod"]}
        ok("key", "rotate", "--organisation", *as_bayline, env=env)
        after = httpx.get(f"{url}/orgs/{bayline_id}/did.json").json()
        methods = {m["publicKeyJwk"]["kid"]: m for m in after["verificationMethod"]}
        assert before < set(methods)
        retired = [kid for kid, m in methods.items() if "bayflow:retired" in m]
        assert len(retired) == 1
        assert f"{after['id']}#{retired[0]}" not in after["assertionMethod"]

        # The rotated key file still authenticates.
        assert json.loads(ok("org", "whoami", *as_bayline, env=env))["person"]["roles"] == [
            "administrator"
        ]


class TestPythonClient:
    """bayflow.client authenticates transparently and raises the hub's errors."""

    def test_client_from_key_file(self, hub: tuple[str, dict[str, str], Path]) -> None:
        url, _, home = hub
        with BayflowClient.from_key_file(home / "data" / "operator.key", url=url) as client:
            orgs = client.get("/orgs")
            assert any(o["is_operator"] for o in orgs)
            first = client.access_token()
            assert client.access_token() == first  # cached
            with pytest.raises(NotFound):
                client.get("/orgs/org_" + "b" * 26)
