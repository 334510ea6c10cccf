import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bayflow.config import Settings
from bayflow.errors import ConfigurationError
from bayflow.hub import ca_directory, open_signing_authorities

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


class TestSigningAuthorities:
    """The hub's CA and TSA are created once under keys/ca/ and loaded after that."""

    def test_the_first_open_creates_private_key_files(self, settings: Settings) -> None:
        open_signing_authorities(settings, NOW)
        directory = ca_directory(settings)
        assert directory == settings.keys_dir / "ca"
        for name in ("ca-key.pem", "tsa-key.pem"):
            assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600

    def test_later_opens_load_the_same_authorities(self, settings: Settings) -> None:
        first = open_signing_authorities(settings, NOW)
        again = open_signing_authorities(settings, NOW + timedelta(days=1))
        assert again.ca.certificate == first.ca.certificate
        assert again.tsa.certified_key.certificate == first.tsa.certified_key.certificate

    def test_the_tsa_is_certified_by_the_ca(self, settings: Settings) -> None:
        authorities = open_signing_authorities(settings, NOW)
        certificate = authorities.tsa.certified_key.certificate
        certificate.verify_directly_issued_by(authorities.ca.certificate)

    def test_half_a_tsa_is_refused_not_repaired(self, settings: Settings) -> None:
        open_signing_authorities(settings, NOW)
        (ca_directory(settings) / "tsa-key.pem").unlink()
        with pytest.raises(ConfigurationError, match="incomplete"):
            open_signing_authorities(settings, NOW)

    def test_an_expired_tsa_certificate_is_reported(self, settings: Settings) -> None:
        open_signing_authorities(settings, NOW)
        with pytest.raises(ConfigurationError, match="has expired"):
            open_signing_authorities(settings, NOW + timedelta(days=6 * 365))

    def test_a_tsa_from_another_ca_is_refused(self, settings: Settings, tmp_path: Path) -> None:
        open_signing_authorities(settings, NOW)
        other = Settings(data_dir=tmp_path / "other")
        open_signing_authorities(other, NOW)
        for name in ("tsa-key.pem", "tsa-cert.pem"):
            (ca_directory(settings) / name).write_bytes((ca_directory(other) / name).read_bytes())
        with pytest.raises(ConfigurationError, match="not issued by the hub's CA"):
            open_signing_authorities(settings, NOW)
