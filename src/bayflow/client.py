"""The Python client for a Bayflow hub.

Authentication is transparent: give it a key file and it signs an RFC 7523 client assertion,
trades it for an access token at ``/oauth/token``, keeps the token until shortly before it
expires, and fetches a new one when the hub says the old one is no longer good. Errors come
back as the same :class:`~bayflow.errors.BayflowError` classes the hub raised, rebuilt from
their RFC 9457 problem documents, so a caller (or the CLI) handles them in one place.

    from bayflow.client import BayflowClient
    with BayflowClient.from_key_file("bank.key", url="http://127.0.0.1:8000") as hub:
        print(hub.get("/orgs"))
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from bayflow.clock import Clock, SystemClock
from bayflow.consent.lifecycle import ConsentAction, ConsentEvent, ConsentState, next_state
from bayflow.consent.models import ConsentTerms
from bayflow.consent.signing import sign_event
from bayflow.crypto.jose import PrivateJWK, PublicJWK, b64url_encode
from bayflow.crypto.jwt import encode
from bayflow.errors import BayflowError, StoreUnavailable
from bayflow.exchange.deletion import DeletionReceipt, sign_deletion
from bayflow.exchange.envelope import Envelope, open_payload
from bayflow.identity.auth import ASSERTION_TYPE
from bayflow.identity.keyfile import KeyFile

__all__ = ["BayflowClient", "FetchedData", "HubUnreachable", "error_from_problem"]

# Renew a little before expiry so a token never lapses between check and use.
_RENEW_BEFORE = timedelta(seconds=30)
_ASSERTION_LIFETIME = timedelta(seconds=60)


class HubUnreachable(StoreUnavailable):
    slug = "hub-unreachable"
    title = "Hub unreachable"


def _error_classes() -> dict[str, type[BayflowError]]:
    classes: dict[str, type[BayflowError]] = {}
    pending: list[type[BayflowError]] = [BayflowError]
    while pending:
        cls = pending.pop()
        classes.setdefault(cls.slug, cls)
        pending.extend(cls.__subclasses__())
    return classes


def error_from_problem(response: httpx.Response) -> BayflowError:
    """Rebuild the hub's error from its problem document (or describe a non-problem answer)."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        return BayflowError(
            f"the hub answered HTTP {response.status_code} without a problem document"
        )
    problem_type = str(problem.get("type", ""))
    slug = problem_type.removeprefix("urn:bayflow:problem:")
    cls = _error_classes().get(slug, BayflowError)
    message = str(problem.get("detail") or problem.get("title") or f"HTTP {response.status_code}")
    try:
        error = cls(message)
    except TypeError:
        error = BayflowError(message)
    request_id = problem.get("request_id")
    if request_id:
        error.detail = f"request id {request_id}"
    return error


class BayflowClient:
    def __init__(
        self,
        url: str,
        key_file: KeyFile | None = None,
        *,
        scope: str | None = None,
        timeout: float = 30.0,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.key_file = key_file
        self._scope = scope
        self._clock = clock or SystemClock()
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self._token: str | None = None
        self._token_expires = self._clock.now()
        self._lock = threading.Lock()
        self._provider_keys: dict[tuple[str, str], PublicJWK] = {}

    @classmethod
    def from_key_file(cls, path: str | Path, *, url: str | None = None, **kwargs: Any) -> Self:
        key_file = KeyFile.read(Path(path))
        return cls(url or key_file.hub, key_file, **kwargs)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # Authentication -----------------------------------------------------------------------

    def client_assertion(self) -> str:
        """A fresh RFC 7523 assertion for this hub's token endpoint."""
        if self.key_file is None:
            raise BayflowError("this client has no key file to authenticate with")
        now = self._clock.now()
        claims = {
            "iss": self.key_file.person,
            "sub": self.key_file.person,
            "aud": f"{self.url}/oauth/token",
            "iat": int(now.timestamp()),
            "exp": int((now + _ASSERTION_LIFETIME).timestamp()),
            "jti": secrets.token_urlsafe(16),
        }
        pair = self.key_file.person_key
        return encode(claims, pair.signing_key, kid=pair.kid)

    def access_token(self, *, renew: bool = False) -> str:
        with self._lock:
            now = self._clock.now()
            if renew or self._token is None or now >= self._token_expires - _RENEW_BEFORE:
                form = {
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": self.client_assertion(),
                }
                if self._scope:
                    form["scope"] = self._scope
                response = self._send("POST", "/oauth/token", data=form)
                body = response.json()
                self._token = str(body["access_token"])
                self._token_expires = now + timedelta(seconds=int(body["expires_in"]))
            return self._token

    # Requests -----------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise HubUnreachable(f"cannot reach the hub at {self.url}: {exc}") from exc
        if response.is_error:
            raise error_from_problem(response)
        return response

    def request(
        self, method: str, path: str, *, auth: bool = True, **kwargs: Any
    ) -> httpx.Response:
        if not auth:
            return self._send(method, path, **kwargs)
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Authorization"] = f"Bearer {self.access_token()}"
        try:
            return self._send(method, path, headers=headers, **kwargs)
        except BayflowError as exc:
            # A token the hub no longer accepts (restart with new keys, clock drift): renew once.
            if exc.slug != "invalid-access-token":
                raise
            headers["Authorization"] = f"Bearer {self.access_token(renew=True)}"
            return self._send(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs).json()

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=json, **kwargs).json()

    # Corp ID ------------------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        if self.key_file is None:
            raise BayflowError("this client has no key file")
        org = self.get(f"/orgs/{self.key_file.organisation}")
        people = self.get(f"/orgs/{self.key_file.organisation}/people")
        me = next((p for p in people if p["id"] == self.key_file.person), None)
        return {"organisation": org, "person": me}

    # Consent ------------------------------------------------------------------------------

    def _person_jwk(self) -> PrivateJWK:
        if self.key_file is None:
            raise BayflowError("this client has no key file to sign with")
        return PrivateJWK.from_signing_key(self.key_file.person_key.signing_key)

    def request_consent(self, terms: ConsentTerms) -> dict[str, Any]:
        """Sign the request event over ``terms`` with this person's key and submit it."""
        if self.key_file is None:
            raise BayflowError("this client has no key file to sign with")
        event = ConsentEvent(
            consent_id=terms.id,
            version=terms.version,
            seq=0,
            terms_digest=terms.digest(),
            action=ConsentAction.REQUEST,
            from_state=None,
            to_state=ConsentState.REQUESTED,
            actor=self.key_file.person,
            at=self._clock.now(),
        )
        body = {"terms": terms.to_json(), "event": sign_event(event, self._person_jwk())}
        result: dict[str, Any] = self.post("/consent/v1/consents", body)
        return result

    def act_on_consent(
        self, consent_id: str, action: ConsentAction, *, version: int | None = None
    ) -> dict[str, Any]:
        """Fetch the consent, sign ``action`` as the next event and submit it."""
        if self.key_file is None:
            raise BayflowError("this client has no key file to sign with")
        params = {"version": version} if version is not None else None
        current = self.get(f"/consent/v1/consents/{consent_id}", params=params)
        terms = ConsentTerms.from_json(current["terms"])
        recorded = ConsentState(current["events"][-1]["to"])
        event = ConsentEvent(
            consent_id=terms.id,
            version=terms.version,
            seq=len(current["events"]),
            terms_digest=terms.digest(),
            action=action,
            from_state=recorded,
            to_state=next_state(recorded, action),
            actor=self.key_file.person,
            at=self._clock.now(),
        )
        body = {"event": sign_event(event, self._person_jwk()), "version": terms.version}
        result: dict[str, Any] = self.post(f"/consent/v1/consents/{consent_id}/events", body)
        return result

    # Data ---------------------------------------------------------------------------------

    def provider_key(self, provider: str, kid: str) -> PublicJWK:
        """A provider organisation's key, from its did:web document (retired keys included).

        Keys are cached by id: a key id is the key's thumbprint, so it never names another key.
        """
        cached = self._provider_keys.get((provider, kid))
        if cached is not None:
            return cached
        document = self.request("GET", f"/orgs/{provider}/did.json", auth=False).json()
        for method in document.get("verificationMethod", []):
            jwk = method.get("publicKeyJwk", {})
            if jwk.get("kid") == kid:
                key = PublicJWK.from_dict(
                    {k: v for k, v in jwk.items() if k != "kid"} | {"kid": kid}
                )
                self._provider_keys[(provider, kid)] = key
                return key
        raise BayflowError(f"provider {provider} publishes no key {kid}")

    def fetch_data(
        self,
        consent_id: str,
        provider: str,
        product: str,
        *,
        data_from: str | None = None,
        data_to: str | None = None,
    ) -> FetchedData:
        """Fetch under a consent; decrypt locally and check the provider's signature.

        The hub only ever sees the ciphertext: the payload is opened here, with the key file's
        X25519 key, which is created (and saved by the caller) on first use.
        """
        if self.key_file is None or self.key_file.encryption_key is None:
            raise BayflowError(
                "this client's key file has no encryption key (see with_encryption_key)"
            )
        encryption = self.key_file.encryption_key
        body = {
            "consent_id": consent_id,
            "provider": provider,
            "product": product,
            "data_from": data_from,
            "data_to": data_to,
            "consumer_key": b64url_encode(encryption.public_key.to_bytes()),
            "consumer_kid": encryption.kid,
        }
        response = self.request("POST", "/exchange/v1/requests", json=body)
        envelope = Envelope.from_bytes(response.content)
        request_id = response.headers["Bayflow-Request-Id"]
        plaintext, content_type = open_payload(
            envelope,
            consumer_private_x25519=encryption.private_key,
            provider_public=self.provider_key(provider, envelope.header.provider_kid),
            consent_id=consent_id,
            request_id=request_id,
        )
        return FetchedData(
            plaintext=plaintext,
            content_type=content_type,
            request_id=request_id,
            receipt=response.headers["Bayflow-Receipt"],
            ciphertext_sha256=envelope.ciphertext_digest.hex(),
        )

    def record_deletion(
        self, request_id: str, *, consent_id: str, ciphertext_sha256: str
    ) -> dict[str, Any]:
        """Sign and record that this consumer purged what ``request_id`` delivered."""
        if self.key_file is None:
            raise BayflowError("this client has no key file to sign with")
        receipt = _deletion_receipt(
            self.key_file,
            request_id=request_id,
            consent_id=consent_id,
            ciphertext_sha256=ciphertext_sha256,
            now=self._clock.now(),
        )
        result: dict[str, Any] = self.post(
            f"/exchange/v1/requests/{request_id}/deletion", {"receipt": receipt}
        )
        return result


@dataclass(frozen=True)
class FetchedData:
    plaintext: bytes
    content_type: str
    request_id: str
    receipt: str
    ciphertext_sha256: str


def _deletion_receipt(
    key_file: KeyFile, *, request_id: str, consent_id: str, ciphertext_sha256: str, now: datetime
) -> str:
    receipt = DeletionReceipt(
        request_id=request_id,
        consent_id=consent_id,
        consumer=key_file.organisation,
        actor=key_file.person,
        ciphertext_sha256=ciphertext_sha256,
        deleted_at=now,
    )
    return sign_deletion(receipt, PrivateJWK.from_signing_key(key_file.person_key.signing_key))
