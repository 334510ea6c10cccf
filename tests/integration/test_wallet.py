"""The credential wallet and pre-filled forms as their users meet them: the CLI, a real hub.

Bayline gets its business registration credential and shows Lion Rock Bank only its legal
name and city; the bank checks the presentation offline with the hub's published issuer key,
and sees it fail for another nonce and, once revoked, through the status list. Then the bank
asks for Bayline's profile through a pre-filled form: Li Na (a delegate) may not answer, Chen
Wei (a director with a mandate) shares a subset of the fields.
"""

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from tests.integration.conftest import bayflow, cli_env, free_port, running

pytestmark = pytest.mark.slow

BAYLINE_USCC = "91440300MA5G7K2P0C"
LION_ROCK_BRN = "12345678"
LOANS = "https://lionrock.example/loans"


@dataclass
class Hub:
    url: str
    env: dict[str, str]
    home: Path

    def ok(self, *args: str) -> str:
        result = bayflow(*args, env=self.env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def fails(self, *args: str, code: int) -> str:
        result = bayflow(*args, env=self.env)
        assert result.returncode == code, (result.stdout, result.stderr)
        assert result.stderr.count("\n") == 1
        return result.stderr

    def key(self, name: str) -> tuple[str, str]:
        return "--key", str(self.home / f"{name}.key")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    home = tmp_path_factory.mktemp("wallet")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = cli_env(home / "data", BAYFLOW_URL=url, BAYFLOW_PUBLIC_URL=url)
    assert bayflow("db", "upgrade", env=env).returncode == 0
    with running(["serve", "--port", str(port)], env, f"{url}/healthz") as process:
        hub = Hub(url, env, home)
        _admit_the_scenario(hub)
        yield hub
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def _admit_the_scenario(hub: Hub) -> None:
    bayline = [
        "--name",
        "Qianhai Bayline Logistics Co., Ltd.",
        "--name-zh",
        "深圳前海湾线物流有限公司",
    ]
    lionrock = ["--name", "Lion Rock Bank Limited", "--name-zh", "獅子山銀行有限公司"]
    for name, args in (
        (
            "bayline",
            [*bayline, "--jurisdiction", "CN", "--city", "Shenzhen", "--uscc", BAYLINE_USCC],
        ),
        (
            "lionrock",
            [*lionrock, "--jurisdiction", "HK", "--city", "Hong Kong", "--brn", LION_ROCK_BRN],
        ),
    ):
        hub.ok("org", "register", *args, "--key-out", str(hub.home / f"{name}.key"))
    for name, person, role in (("chen", "Chen Wei", "director"), ("li", "Li Na", "delegate")):
        hub.ok(
            "person",
            "add",
            "--name",
            person,
            "--role",
            role,
            "--key-out",
            str(hub.home / f"{name}.key"),
            *hub.key("bayline"),
        )
    hub.ok(
        "mandate",
        "add",
        "--description",
        "one director up to RMB 2,000,000",
        "--role",
        "director",
        "--limit",
        "CNY 2,000,000",
        *hub.key("bayline"),
    )


def _person_id(hub: Hub, name: str) -> str:
    return str(json.loads(hub.ok("org", "whoami", *hub.key(name)))["person"]["id"])


class TestCredentialWallet:
    """Bayline presents chosen facts; the bank verifies them offline and sees revocation."""

    def test_a_presentation_of_legal_name_and_city_verifies_offline(self, hub: Hub) -> None:
        issued = json.loads(
            hub.ok("credential", "issue", "--type", "business-registration", *hub.key("bayline"))
        )
        assert issued["state"] == "valid"
        listed = json.loads(hub.ok("credential", "list", *hub.key("chen")))
        assert issued["id"] in [c["id"] for c in listed]

        # The bank's nonce; Bayline discloses only what the bank needs, signed with its key.
        nonce = "lionrock-7f3a9c2e11"
        presentation = hub.home / "presentation.txt"
        hub.ok(
            "credential",
            "present",
            issued["id"],
            "--disclose",
            "legal_name,city",
            "--audience",
            LOANS,
            "--nonce",
            nonce,
            "--out",
            str(presentation),
            *hub.key("bayline"),
        )
        # The bank saves the issuer's published key and status list once: then no network.
        issuer = hub.home / "issuer.json"
        status_list = hub.home / "status-list.jwt"
        hub.ok("credential", "issuer", "--out", str(issuer))
        list_id = issued["status_list"]["uri"].rsplit("/", 1)[1]
        hub.ok("credential", "status-list", list_id, "--out", str(status_list))
        offline = [
            "credential",
            "verify",
            str(presentation),
            "--issuer-jwks",
            str(issuer),
            "--audience",
            LOANS,
        ]
        report = json.loads(hub.ok(*offline, "--nonce", nonce, "--status", str(status_list)))
        assert report["valid"] is True
        assert report["issuer"] == hub.url
        assert report["disclosed"] == ["city", "legal_name.en", "legal_name.zh"]
        assert report["claims"] == {
            "legal_name": {
                "en": "Qianhai Bayline Logistics Co., Ltd.",
                "zh": "深圳前海湾线物流有限公司",
            },
            "city": "Shenzhen",
            "registry_identifiers": {},
        }
        assert BAYLINE_USCC not in presentation.read_text()
        assert report["status"]["checked"] is True

        # The same presentation with another nonce (a replay to someone else) fails.
        replay = hub.fails(*offline, "--nonce", "another-nonce-0000", code=1)
        assert "nonce" in replay

        # The reference SD-JWT implementation accepts it with the published key.
        metadata = json.loads(issuer.read_text())
        (issuer_jwk,) = metadata["jwks"]["keys"]
        reference = SDJWTVerifier(
            presentation.read_text().strip(),
            lambda _iss, _header: JWK.from_json(json.dumps(issuer_jwk)),
        )
        reference._verify_key_binding_jwt(LOANS, nonce, sign_alg="Ed25519")
        assert reference.get_verified_payload()["city"] == "Shenzhen"

        # Revoked: the status list the bank fetches next says so, and verification fails.
        out = hub.ok("credential", "revoke", issued["id"], "--reason", "test", *hub.key("bayline"))
        assert "is revoked" in out
        revoked = hub.fails(*offline, "--nonce", nonce, "--status", "auto", code=1)
        assert "revoked" in revoked
        hub.ok("credential", "status-list", list_id, "--out", str(status_list))
        assert "revoked" in hub.fails(
            *offline, "--nonce", nonce, "--status", str(status_list), code=1
        )

    def test_a_signatory_presents_their_own_credential(self, hub: Hub) -> None:
        chen_id = _person_id(hub, "chen")
        issued = json.loads(
            hub.ok(
                "credential",
                "issue",
                "--type",
                "authorised-signatory",
                "--person",
                chen_id,
                *hub.key("bayline"),
            )
        )
        presentation = hub.ok(
            "credential",
            "present",
            issued["id"],
            "--disclose",
            "name,role,mandate.limit",
            "--audience",
            LOANS,
            "--nonce",
            "signatory-check-01",
            *hub.key("chen"),
        )
        report = json.loads(
            bayflow(
                "credential",
                "verify",
                "-",
                "--issuer-jwks",
                hub.url,
                "--audience",
                LOANS,
                "--nonce",
                "signatory-check-01",
                "--status",
                "auto",
                env=hub.env,
                input=presentation,
            ).stdout
        )
        assert report["claims"]["name"] == "Chen Wei"
        assert report["claims"]["mandate"] == {"limit": {"amount": "2000000.00", "currency": "CNY"}}
        # The administrator holds no key of Chen's, so cannot present his credential.
        refused = hub.fails(
            "credential",
            "present",
            issued["id"],
            "--audience",
            LOANS,
            "--nonce",
            "n-0123456789",
            *hub.key("bayline"),
            code=65,
        )
        assert "does not hold" in refused
        # Li Na holds no mandate: no signatory credential for her.
        no_mandate = hub.fails(
            "credential",
            "issue",
            "--type",
            "authorised-signatory",
            "--person",
            _person_id(hub, "li"),
            *hub.key("bayline"),
            code=75,
        )
        assert "no signing mandate" in no_mandate

    def test_uploaded_documents_stay_with_their_organisation(self, hub: Hub) -> None:
        licence = hub.home / "road-transport-licence.pdf"
        licence.write_bytes(b"%PDF-1.7\nroad transport operating licence\n%%EOF\n")
        document = json.loads(
            hub.ok(
                "wallet",
                "upload",
                str(licence),
                "--kind",
                "licence",
                "--issuer",
                "Shenzhen Transport Bureau",
                "--expires",
                "2027-12-31",
                *hub.key("li"),
            )
        )
        assert document["content_type"] == "application/pdf"
        wallet = json.loads(hub.ok("wallet", "list", *hub.key("bayline")))
        assert document["id"] in [d["id"] for d in wallet["documents"]]
        copy = hub.home / "copy.pdf"
        hub.ok("wallet", "download", document["id"], "--out", str(copy), *hub.key("chen"))
        assert copy.read_bytes() == licence.read_bytes()
        hub.fails(
            "wallet",
            "download",
            document["id"],
            "--out",
            str(hub.home / "stolen.pdf"),
            *hub.key("lionrock"),
            code=66,
        )
        assert not (hub.home / "stolen.pdf").exists()


class TestPreFilledForm:
    """Lion Rock asks for Bayline's profile; only an authorised person may share it."""

    def test_a_director_shares_a_subset_and_a_delegate_is_refused(self, hub: Hub) -> None:
        nonce = "loan-form-2b7d41a9"
        request = json.loads(
            hub.ok(
                "form",
                "request",
                "--uscc",
                BAYLINE_USCC,
                "--fields",
                "legal_name,city,registry_identifiers.cn_uscc,lei",
                "--purpose",
                "working-capital loan application",
                "--audience",
                LOANS,
                "--nonce",
                nonce,
                *hub.key("lionrock"),
            )
        )
        received = json.loads(hub.ok("form", "list", "--role", "subject", *hub.key("li")))
        assert [r["id"] for r in received] == [request["id"]]

        refused = hub.fails(
            "form", "approve", request["id"], "--fields", "city", *hub.key("li"), code=77
        )
        assert "may not share" in refused

        approved = hub.ok(
            "form",
            "approve",
            request["id"],
            "--fields",
            "legal_name,registry_identifiers.cn_uscc",
            *hub.key("chen"),
        )
        assert "shared legal_name, registry_identifiers.cn_uscc" in approved

        made = json.loads(hub.ok("form", "list", "--role", "requester", *hub.key("lionrock")))
        assert made[0]["state"] == "approved"
        assert made[0]["decided_by"] == _person_id(hub, "chen")

        answer = hub.home / "form-answer.txt"
        hub.ok("form", "fetch", request["id"], "--out", str(answer), *hub.key("lionrock"))
        report = json.loads(
            hub.ok(
                "credential",
                "verify",
                str(answer),
                "--issuer-jwks",
                hub.url,
                "--audience",
                LOANS,
                "--nonce",
                nonce,
                "--status",
                "auto",
            )
        )
        assert report["claims"] == {
            "legal_name": {
                "en": "Qianhai Bayline Logistics Co., Ltd.",
                "zh": "深圳前海湾线物流有限公司",
            },
            "registry_identifiers": {"cn_uscc": BAYLINE_USCC},
        }
        # An answered request cannot be answered again.
        hub.fails("form", "approve", request["id"], *hub.key("chen"), code=75)
