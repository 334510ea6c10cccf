"""Digital signing as its users meet it: bayflow sign and verify-signature against a real hub."""

import hashlib
import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from tests.integration.conftest import bayflow, cli_env, free_port, running
from tests.unit.identity.test_pdf import _pem_to_der, one_page_pdf

pytestmark = pytest.mark.slow

BAYLINE_USCC = "91440300MA5G7K2P0C"
LION_ROCK_BRN = "12345678"


def ok(*args: str, env: dict[str, str]) -> str:
    result = bayflow(*args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@dataclass
class Hub:
    url: str
    env: dict[str, str]
    home: Path

    def key(self, name: str) -> list[str]:
        return ["--key", str(self.home / f"{name}.key")]


def person(hub: Hub, name: str, role: str, key: str) -> str:
    out = ok(
        "person",
        "add",
        "--name",
        name,
        "--role",
        role,
        "--key-out",
        str(hub.home / f"{key}.key"),
        *hub.key("bayline"),
        env=hub.env,
    )
    return out.split()[1]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub with Bayline's directors and delegate, its mandates, and Lion Rock Bank."""
    home = tmp_path_factory.mktemp("signing")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = cli_env(home / "data", BAYFLOW_URL=url, BAYFLOW_PUBLIC_URL=url)
    assert bayflow("db", "upgrade", env=env).returncode == 0
    with running(["serve", "--port", str(port)], env, f"{url}/healthz") as process:
        hub = Hub(url, env, home)
        for name, flags, key in (
            (
                "Qianhai Bayline Logistics Co., Ltd.",
                ["--jurisdiction", "CN", "--city", "Shenzhen", "--uscc", BAYLINE_USCC],
                "bayline",
            ),
            (
                "Lion Rock Bank Limited",
                ["--jurisdiction", "HK", "--city", "Hong Kong", "--brn", LION_ROCK_BRN],
                "lionrock",
            ),
        ):
            ok(
                "org",
                "register",
                "--name",
                name,
                *flags,
                "--key-out",
                str(home / f"{key}.key"),
                env=env,
            )
        person(hub, "Chen Wei", "director", "chen")
        person(hub, "Zhou Min", "director", "zhou")
        person(hub, "Li Na", "delegate", "li")
        for description, extra in (
            ("one director up to RMB 2,000,000", ["--limit", "CNY 2,000,000"]),
            ("any two directors", ["--min-signers", "2"]),
        ):
            ok(
                "mandate",
                "add",
                "--description",
                description,
                "--role",
                "director",
                *extra,
                *hub.key("bayline"),
                env=env,
            )
        ok("ca", "export", "--out", str(home / "ca.pem"), env=env)
        (home / "contract.pdf").write_bytes(one_page_pdf(b"Working-capital loan, CNY 5,000,000"))
        yield hub
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def verify(hub: Hub, *args: str, key: str = "bayline") -> tuple[int, dict, str]:
    result = bayflow("verify-signature", *args, "--json", *hub.key(key), env=hub.env, cwd=hub.home)
    report = json.loads(result.stdout) if result.stdout else {}
    return result.returncode, report, result.stderr


@pytest.fixture(scope="module")
def cosigned(hub: Hub) -> Path:
    """Chen Wei signs the contract B-T; Zhou Min, the second director, co-signs it."""
    contract = hub.home / "contract.pdf"
    signed = hub.home / "contract.signed.pdf"
    out = ok("sign", str(contract), *hub.key("chen"), env=hub.env)
    assert "PAdES B-T signature Signature1 as Director" in out
    assert f"wrote {signed}" in out
    (hub.home / "chen-only.pdf").write_bytes(signed.read_bytes())
    out = ok("sign", str(signed), *hub.key("zhou"), env=hub.env)
    assert "Signature2" in out
    return signed


class TestSigningAPDF:
    """Directors sign a PDF through the hub; verify-signature reports them and the mandate."""

    def test_a_second_signature_is_an_incremental_update(self, hub: Hub, cosigned: Path) -> None:
        original = (hub.home / "contract.pdf").read_bytes()
        first = (hub.home / "chen-only.pdf").read_bytes()
        both = cosigned.read_bytes()
        assert first.startswith(original)
        assert both.startswith(first)

    def test_two_directors_satisfy_the_two_director_mandate(self, hub: Hub, cosigned: Path) -> None:
        code, report, stderr = verify(
            hub,
            str(cosigned),
            "--ca",
            str(hub.home / "ca.pem"),
            "--action",
            "contract:sign",
            "--amount",
            "CNY 5,000,000",
        )
        assert code == 0, stderr
        chen, zhou = report["signatures"]
        assert (chen["signer"], zhou["signer"]) == ("Chen Wei", "Zhou Min")
        for signature in (chen, zhou):
            assert signature["valid"]
            assert signature["role"] == "Director"
            assert signature["organisation"] == "Qianhai Bayline Logistics Co., Ltd."
            assert signature["intact"]
            assert signature["trusted"]
            assert signature["timestamped"]
            assert signature["when"].endswith("(time-stamped)")
        assert chen["person_id"] != zhou["person_id"]
        (mandate,) = report["mandates"]
        assert mandate["allowed"]
        assert mandate["mandate"]["description"] == "any two directors"
        assert sorted(mandate["signers"]) == sorted([chen["person_id"], zhou["person_id"]])

    def test_the_text_report_names_signers_roles_and_the_mandate(
        self, hub: Hub, cosigned: Path
    ) -> None:
        out = ok(
            "verify-signature",
            str(cosigned),
            "--action",
            "contract:sign",
            *hub.key("chen"),
            env=hub.env,
        )
        assert "2 signature(s)" in out
        assert "signer       Chen Wei <per_" in out
        assert "signer       Zhou Min <per_" in out
        assert "role         Director" in out
        assert "is bound for contract:sign under mandate" in out

    def test_one_director_alone_is_over_his_limit(self, hub: Hub, cosigned: Path) -> None:
        assert cosigned.exists()
        code, report, stderr = verify(
            hub,
            str(hub.home / "chen-only.pdf"),
            "--action",
            "contract:sign",
            "--amount",
            "CNY 5,000,000",
        )
        assert code == 77
        assert report["signatures"][0]["valid"]
        (mandate,) = report["mandates"]
        assert not mandate["allowed"]
        assert any("limited to CNY 2,000,000.00" in r for r in mandate["reasons"])
        assert stderr.startswith("bayflow: error: the signers may not bind")
        assert stderr.count("\n") == 1

    def test_a_delegate_signs_but_binds_no_one(self, hub: Hub) -> None:
        memo = hub.home / "memo.pdf"
        memo.write_bytes(one_page_pdf(b"Supplier contract"))
        out = ok("sign", str(memo), *hub.key("li"), env=hub.env)
        assert "as Delegate" in out
        code, report, _ = verify(
            hub, str(hub.home / "memo.signed.pdf"), "--action", "contract:sign"
        )
        assert code == 77
        (signature,) = report["signatures"]
        assert signature["valid"]
        assert signature["signer"] == "Li Na"
        assert signature["role"] == "Delegate"
        (mandate,) = report["mandates"]
        assert not mandate["allowed"]
        assert any(
            "needs 1 signer(s) with role director; 0 signed (none)" in r for r in mandate["reasons"]
        )

    def test_a_role_not_held_cannot_be_claimed(self, hub: Hub) -> None:
        memo = hub.home / "claim.pdf"
        memo.write_bytes(one_page_pdf(b"Board minutes"))
        result = bayflow("sign", str(memo), "--role", "director", *hub.key("li"), env=hub.env)
        assert result.returncode == 77
        assert "Li Na does not hold the role Director" in result.stderr
        assert not (hub.home / "claim.signed.pdf").exists()

    def test_a_tampered_pdf_is_reported_broken(self, hub: Hub, cosigned: Path) -> None:
        data = cosigned.read_bytes()
        tampered = hub.home / "tampered.pdf"
        tampered.write_bytes(data.replace(b"CNY 5,000,000", b"CNY 9,000,000", 1))
        code, report, stderr = verify(hub, str(tampered), "--ca", str(hub.home / "ca.pem"))
        assert code == 1
        assert not report["signatures"][0]["intact"]
        assert "changed after signing" in stderr

    def test_a_hub_that_never_started_has_no_ca_to_export(self, tmp_path: Path) -> None:
        stranger = tmp_path / "data"
        ok("db", "upgrade", env=cli_env(stranger))
        refused = bayflow("ca", "export", env=cli_env(stranger))
        assert refused.returncode == 78
        assert "start the hub once" in refused.stderr


class TestAnchoring:
    """Every signature is anchored in the hub's verification ledger as it is made."""

    def test_pdf_signatures_are_anchored_and_reported_with_their_index(
        self, hub: Hub, cosigned: Path
    ) -> None:
        _, report, stderr = verify(hub, str(cosigned))
        indexes = [s["ledger_index"] for s in report["signatures"]]
        assert all(isinstance(i, int) for i in indexes), stderr
        assert len(set(indexes)) == 2
        for signature in report["signatures"]:
            status = httpx.get(f"{hub.url}/ledger/v1/status/{signature['fingerprint']}").json()
            (entry,) = status["entries"]
            assert entry["kind"] == "signature"
            assert entry["schema"] == "pades-cms/1"
            assert entry["issuer"] == signature["organisation_id"]

    def test_a_jws_is_anchored_by_the_sha256_of_its_text(self, hub: Hub) -> None:
        note = hub.home / "anchored.txt"
        note.write_text("Board resolution 2026/11\n")
        out = ok("sign", str(note), *hub.key("chen"), env=hub.env)
        assert "anchored at ledger index" in out
        jws = (hub.home / "anchored.txt.jws").read_text().strip()
        fingerprint = hashlib.sha256(jws.encode()).hexdigest()
        (entry,) = httpx.get(f"{hub.url}/ledger/v1/status/{fingerprint}").json()["entries"]
        assert entry["schema"] == "bayflow-jws/1"
        _, report, _ = verify(hub, str(note))
        assert report["signatures"][0]["ledger_index"] == entry["index"]


class TestIndependentValidation:
    """pyHanko's own validator accepts CLI-signed PDFs given the exported CA certificate."""

    def test_pyhanko_finds_both_signatures_intact_trusted_and_timestamped(
        self, hub: Hub, cosigned: Path
    ) -> None:
        exported = (hub.home / "ca.pem").read_bytes()
        fetched = ok("ca", "export", "--url", hub.url, env=hub.env)
        assert fetched.encode() == exported
        assert httpx.get(f"{hub.url}/ca.pem").content == exported
        reader = PdfFileReader(BytesIO(cosigned.read_bytes()))
        signatures = reader.embedded_regular_signatures
        assert len(signatures) == 2
        for embedded in signatures:
            root = asn1_x509.Certificate.load(_pem_to_der(exported))
            context = ValidationContext(trust_roots=[root], allow_fetching=False)
            status = validate_pdf_signature(embedded, context)
            assert status.intact
            assert status.valid
            assert status.trusted
            assert status.timestamp_validity is not None
            assert status.timestamp_validity.trusted
            assert status.signing_cert.subject.native["organization_identifier"] == (
                f"NTRCN-{BAYLINE_USCC}"
            )


class TestDetachedJWS:
    """Any file gets a detached JWS checked against the organisation's did:web document."""

    def test_a_signed_text_file_verifies_and_fails_once_changed(self, hub: Hub) -> None:
        note = hub.home / "note.txt"
        note.write_text("Please pay invoice 2025-0042: CNY 120,000\n")
        out = ok("sign", str(note), *hub.key("chen"), env=hub.env)
        assert "detached JWS (Ed25519) by Chen Wei as Director" in out
        jws = (hub.home / "note.txt.jws").read_text().strip()
        _header, payload, _signature = jws.split(".")
        assert payload == ""
        code, report, stderr = verify(hub, str(note), "--action", "payment:approve")
        assert code == 0, stderr
        (signature,) = report["signatures"]
        assert signature["signer"] == "Chen Wei"
        assert signature["role"] == "Director"
        assert signature["intact"]
        assert report["mandates"][0]["allowed"]

        note.write_text("Please pay invoice 2025-0042: CNY 920,000\n")
        code, report, stderr = verify(hub, str(note))
        assert code == 1
        assert not report["signatures"][0]["valid"]
        assert "does not verify over this content" in stderr

    def test_a_second_signature_needs_its_own_file(self, hub: Hub) -> None:
        note = hub.home / "order.txt"
        note.write_text("Purchase order 17\n")
        ok("sign", str(note), *hub.key("chen"), env=hub.env)
        again = bayflow("sign", str(note), *hub.key("zhou"), env=hub.env)
        assert again.returncode == 65
        assert "--out" in again.stderr
        zhou = hub.home / "order.txt.zhou.jws"
        ok("sign", str(note), "--out", str(zhou), *hub.key("zhou"), env=hub.env)
        code, report, stderr = verify(
            hub,
            str(note),
            "--jws",
            str(hub.home / "order.txt.jws"),
            "--jws",
            str(zhou),
            "--action",
            "contract:sign",
            "--amount",
            "CNY 3,000,000",
        )
        assert code == 0, stderr
        assert [s["signer"] for s in report["signatures"]] == ["Chen Wei", "Zhou Min"]
        assert report["mandates"][0]["mandate"]["description"] == "any two directors"

    def test_a_signature_made_before_a_key_rotation_still_verifies(self, hub: Hub) -> None:
        letter = hub.home / "letter.txt"
        letter.write_text("Letter of comfort\n")
        ok("sign", str(letter), *hub.key("zhou"), env=hub.env)
        ok("key", "rotate", *hub.key("zhou"), env=hub.env)
        code, report, stderr = verify(hub, str(letter))
        assert code == 0, stderr
        (signature,) = report["signatures"]
        assert signature["intact"]
        assert signature["key_in_force"] is False
        assert "key retired since" in signature["when"]

    def test_verifying_needs_no_key_file(self, hub: Hub, tmp_path: Path) -> None:
        letter = hub.home / "receipt.txt"
        letter.write_text("Receipt 9\n")
        ok("sign", str(letter), *hub.key("chen"), env=hub.env)
        outsider = cli_env(tmp_path / "nowhere", BAYFLOW_URL=hub.url)
        result = bayflow("verify-signature", str(letter), env=outsider)
        assert result.returncode == 0, result.stderr
        assert "valid" in result.stdout
