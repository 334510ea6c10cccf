"""Corp ID: signatures and verifiable credentials per second, on one core.

Each figure is a named measurement in MEASUREMENTS, so new ones (access tokens, PAdES) are
one function and one entry. A measurement runs its operation in a loop for about
``--seconds``, three times, and reports the median rate. The process is pinned to one CPU.

- ``jws_verify_per_s``: verify a detached Ed25519 JWS (RFC 7515 Appendix F) over 1 KiB.
- ``sdjwt_presentation_verify_per_s``: the verifier's whole job for one SD-JWT VC
  presentation: issuer signature, three disclosures, KB-JWT (signature, audience, nonce, age,
  sd_hash) and the status list entry, from a status list already fetched and cached (as
  draft-ietf-oauth-status-list §13.7 intends; its fetch is measured separately).
- ``status_list_token_verify_per_s``: verify and inflate a 100,000-entry Status List Token.
- ``sdjwt_issue_per_s``: issue a business registration credential with six disclosures.
- ``token_issue_per_s``: RFC 7523 access tokens issued by ``TokenIssuer.exchange`` on the
  embedded SQLite store, one transaction each as ``POST /oauth/token`` runs it: verify the
  client's assertion, record its ``jti`` against replay, load the person and organisation,
  sign the token. Each iteration also makes the client's assertion (one Ed25519 signature,
  a few per cent of the time); HTTP is not included (see ``baseline.py`` for that floor).
- ``pades_bb_sign_per_s``, ``pades_bt_sign_per_s``: PAdES signatures on a one-page PDF, a
  full ``sign_pdf`` each; B-T adds a time-stamp from the hub's RFC 3161 authority in process.
- ``pades_bt_verify_per_s``: ``verify_pdf`` on that B-T document against the hub's CA
  (signature, chain, time-stamp and difference analysis). ``bench/pades.py`` measures the
  same three with a fixed count instead of a time budget.

    python bench/identity.py [--seconds S] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from _common import emit, log, rate
from bayflow.clock import FixedClock
from bayflow.crypto.ed25519 import SigningKey
from bayflow.crypto.jose import PrivateJWK, TrustedIssuers, sign_detached, verify_detached
from bayflow.crypto.jwt import ed25519_thumbprint, encode
from bayflow.crypto.pki import CertifiedKey, OrganisationalCA, SignerSubject
from bayflow.crypto.tsa import LocalTimeStamper, TimestampAuthority
from bayflow.identity.auth import ASSERTION_TYPE, TokenIssuer
from bayflow.identity.credentials import (
    business_registration_claims,
    issue_credential,
    present,
    verify_presentation,
)
from bayflow.identity.models import City, Jurisdiction, RegistryIdentifiers
from bayflow.identity.pdf import sign_pdf, verify_pdf
from bayflow.identity.service import IdentityService
from bayflow.identity.status_list import (
    StatusList,
    StatusListChecker,
    issue_status_list_token,
    verify_status_list_token,
)
from bayflow.store import Database, upgrade
from bayflow.store.identity import SqlIdentityRepository
from pades import one_page_pdf

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
HUB = "https://hub.bayflow.example"
STATUS_URI = f"{HUB}/status/1"
BANK = "https://bank.example.hk"
NONCE = "n-0S6_WzA2Mj"
SME = business_registration_claims(
    organisation_id="org_pearl_river",
    legal_name_en="Pearl River Smart Components Co., Ltd.",
    legal_name_zh="深圳珠江智能元件有限公司",
    jurisdiction="CN",
    city="Shenzhen",
    registry_identifiers={"cn_uscc": "91440300MA5G6JQX2B"},
    lei="5493001KJTIIGC8Y1R12",
)


def jws_verify(seconds: float) -> float:
    key = PrivateJWK.generate()
    content = os.urandom(1024)
    jws = sign_detached(key, content)
    return rate(lambda: verify_detached(jws, content, key.public), seconds)


def _status_list_token(hub: PrivateJWK) -> str:
    statuses = StatusList(100_000)
    for idx in range(0, 100_000, 97):  # About 1 % revoked, spread out: a realistic density.
        statuses.set(idx, 1)
    return issue_status_list_token(hub, statuses, uri=STATUS_URI, now=NOW, issuer=HUB)


def presentation_verify(seconds: float) -> float:
    hub, holder = PrivateJWK.generate(), PrivateJWK.generate()
    trusted = TrustedIssuers({HUB: [hub.public]})
    sd_jwt = issue_credential(
        hub,
        HUB,
        SME.vct,
        SME.claims,
        disclosable=SME.disclosable,
        holder_jwk=holder.public,
        status=(STATUS_URI, 4242),
        now=NOW,
    )
    presentation = present(
        sd_jwt,
        ["legal_name.en", "city", "registry_identifiers.cn_uscc"],
        holder,
        audience=BANK,
        nonce=NONCE,
        now=NOW,
    )
    token = _status_list_token(hub)
    checker = StatusListChecker(lambda _uri: token, trusted)
    checker.load(STATUS_URI, token, now=NOW)

    def verify() -> object:
        return verify_presentation(
            presentation, trusted, audience=BANK, nonce=NONCE, now=NOW, status_checker=checker
        )

    return rate(verify, seconds)


def status_list_token_verify(seconds: float) -> float:
    hub = PrivateJWK.generate()
    trusted = TrustedIssuers({HUB: [hub.public]})
    token = _status_list_token(hub)
    return rate(lambda: verify_status_list_token(token, trusted, uri=STATUS_URI, now=NOW), seconds)


def issue(seconds: float) -> float:
    hub, holder = PrivateJWK.generate(), PrivateJWK.generate()

    def one() -> object:
        return issue_credential(
            hub,
            HUB,
            SME.vct,
            SME.claims,
            disclosable=SME.disclosable,
            holder_jwk=holder.public,
            status=(STATUS_URI, 7),
            now=NOW,
            expires_in=timedelta(days=365),
        )

    return rate(one, seconds)


def _pades_parties() -> tuple[OrganisationalCA, CertifiedKey, LocalTimeStamper]:
    ca = OrganisationalCA.generate(now=NOW)
    signer = ca.issue_signing_certificate(
        SignerSubject(
            person_name="Chen Wei",
            organisation_name="Qianhai Bayline Logistics Co., Ltd.",
            organisation_identifier="NTRCN-91440300MA5G7K2P0C",
            country="CN",
            role="Director",
            organisation_id="org_bayline",
            person_id="per_chen",
        ),
        now=NOW,
    )
    authority = TimestampAuthority(ca.issue_timestamping_certificate(now=NOW))
    return ca, signer, LocalTimeStamper(authority)


def pades_bb_sign(seconds: float) -> float:
    _ca, signer, _tsa = _pades_parties()
    pdf = one_page_pdf()
    return rate(lambda: sign_pdf(pdf, signer, now=NOW), seconds)


def pades_bt_sign(seconds: float) -> float:
    _ca, signer, tsa = _pades_parties()
    pdf = one_page_pdf()
    return rate(lambda: sign_pdf(pdf, signer, level="B-T", timestamper=tsa, now=NOW), seconds)


def pades_bt_verify(seconds: float) -> float:
    ca, signer, tsa = _pades_parties()
    signed = sign_pdf(one_page_pdf(), signer, level="B-T", timestamper=tsa, now=NOW)
    roots = [ca.certificate_pem]
    # Validation at a fixed time: the figures must not depend on the day the bench runs.
    later = NOW + timedelta(hours=1)
    return rate(lambda: verify_pdf(signed, roots, now=later), seconds)


def token_issue(seconds: float) -> float:
    clock = FixedClock(NOW)
    client, hub_key = SigningKey.generate(), SigningKey.generate()
    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite:///{directory}/bench.db")
        upgrade(database)
        with database.transaction() as session:
            registration = IdentityService(
                SqlIdentityRepository(session), clock
            ).register_organisation(
                legal_name_en="Qianhai Bayline Logistics Co., Ltd.",
                legal_name_zh=None,
                jurisdiction=Jurisdiction.CN,
                city=City.SHENZHEN,
                identifiers=RegistryIdentifiers(cn_uscc="91440300MA5G7K2P0C"),
                administrator_name="Chen Wei",
                administrator_name_zh=None,
                administrator_public_key=client.public_key,
                organisation_public_key=SigningKey.generate().public_key,
            )
        person, kid = registration.administrator.id, ed25519_thumbprint(client.public_key)
        claims = {
            "iss": person,
            "sub": person,
            "aud": f"{HUB}/oauth/token",
            "iat": int(NOW.timestamp()),
            "exp": int((NOW + timedelta(seconds=60)).timestamp()),
        }

        def one() -> object:
            assertion = encode({**claims, "jti": secrets.token_urlsafe(16)}, client, kid=kid)
            with database.transaction() as session:
                issuer = TokenIssuer(
                    SqlIdentityRepository(session), signing_key=hub_key, issuer=HUB, clock=clock
                )
                return issuer.exchange(
                    grant_type="client_credentials",
                    client_assertion_type=ASSERTION_TYPE,
                    client_assertion=assertion,
                    scope=None,
                    audiences={f"{HUB}/oauth/token"},
                )

        try:
            return rate(one, seconds)
        finally:
            database.dispose()


MEASUREMENTS: dict[str, Callable[[float], float]] = {
    "jws_verify_per_s": jws_verify,
    "sdjwt_presentation_verify_per_s": presentation_verify,
    "status_list_token_verify_per_s": status_list_token_verify,
    "sdjwt_issue_per_s": issue,
    "token_issue_per_s": token_issue,
    "pades_bb_sign_per_s": pades_bb_sign,
    "pades_bt_sign_per_s": pades_bt_sign,
    "pades_bt_verify_per_s": pades_bt_verify,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per run; three runs each")
    parser.add_argument("--only", nargs="+", choices=sorted(MEASUREMENTS), default=None)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    figures: dict[str, object] = {}
    for name in args.only or MEASUREMENTS:
        log(f"{name} ...")
        figures[name] = MEASUREMENTS[name](args.seconds)
        log(f"{name} = {figures[name]}")
    emit("identity", {**figures, "seconds_per_run": args.seconds, "cores": 1})


if __name__ == "__main__":
    main()
