from pathlib import Path

import pytest

from bayflow.config import Settings
from bayflow.crypto.jose import JWKSet, sign_jwt, verify_jwt
from bayflow.errors import ConfigurationError
from bayflow.identity.issuer import ISSUER_KEY_FILE, load_credential_issuer


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, public_url="https://hub.example/")


class TestCredentialIssuer:
    """The issuer key is made once, kept private, and published through the metadata."""

    def test_creates_a_private_key_on_first_use_and_reuses_it(self, settings: Settings) -> None:
        first = load_credential_issuer(settings)
        again = load_credential_issuer(settings)
        path = settings.keys_dir / ISSUER_KEY_FILE
        assert path.stat().st_mode & 0o777 == 0o600
        assert first.key.kid == again.key.kid
        assert [p.name for p in settings.keys_dir.iterdir()] == [ISSUER_KEY_FILE]

    def test_names_the_public_url_as_issuer_and_its_status_lists(self, settings: Settings) -> None:
        issuer = load_credential_issuer(settings)
        assert issuer.issuer == "https://hub.example"
        assert issuer.status_list_uri(3) == "https://hub.example/status-lists/3"

    def test_metadata_verifies_what_the_issuer_signs(self, settings: Settings) -> None:
        issuer = load_credential_issuer(settings)
        metadata = issuer.metadata()
        assert metadata["issuer"] == issuer.issuer
        token = sign_jwt(issuer.key, {"iss": issuer.issuer}, typ="example+jwt")
        key = JWKSet.from_dict(metadata["jwks"]).get(issuer.key.kid)
        assert verify_jwt(token, key, typ="example+jwt")["iss"] == issuer.issuer
        assert issuer.trusted(issuer.issuer, issuer.key.kid) == key

    def test_refuses_a_damaged_key_file(self, settings: Settings) -> None:
        settings.keys_dir.mkdir(parents=True)
        (settings.keys_dir / ISSUER_KEY_FILE).write_bytes(b"short")
        with pytest.raises(ConfigurationError, match="not an Ed25519 seed"):
            load_credential_issuer(settings)
