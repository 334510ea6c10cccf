"""Volume pseudonyms: keyed, normalised, per exporter and per year."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.compliance.errors import InvalidPseudonym
from bayflow.compliance.volumes import (
    exporter_volume_key,
    load_volume_secret,
    normalise_identifier,
    parse_pseudonym,
    pseudonymise,
)

SECRET = bytes(range(32))
KEY = exporter_volume_key(SECRET, "org_pearl", 2026)


class TestPseudonyms:
    """Exporters pseudonymise locally; the hub never needs the identifier."""

    def test_written_forms_of_one_hkid_give_one_pseudonym(self) -> None:
        forms = ["K234567(6)", "k234567 6", "K234567（６）", "K2345676"]
        assert len({pseudonymise(KEY, f) for f in forms}) == 1

    def test_the_pseudonym_is_not_the_identifier_or_its_plain_hash(self) -> None:
        pseudonym = pseudonymise(KEY, "440305198503121231")
        assert "440305198503121231" not in pseudonym
        assert pseudonym != hashlib.sha256(b"440305198503121231").hexdigest()
        assert parse_pseudonym(pseudonym) == bytes.fromhex(pseudonym)

    def test_keys_differ_by_exporter_and_by_year(self) -> None:
        keys = {
            exporter_volume_key(SECRET, "org_pearl", 2026),
            exporter_volume_key(SECRET, "org_pearl", 2027),
            exporter_volume_key(SECRET, "org_lion", 2026),
        }
        assert len(keys) == 3

    @given(st.text(min_size=1, max_size=40))
    def test_normalising_is_idempotent(self, text: str) -> None:
        try:
            once = normalise_identifier(text)
        except InvalidPseudonym:
            return
        assert normalise_identifier(once) == once

    @pytest.mark.parametrize("bad", ["", "ABCD", "g" * 64, "A" * 64, "0" * 63])
    def test_anything_but_64_lower_case_hex_digits_is_refused(self, bad: str) -> None:
        with pytest.raises(InvalidPseudonym):
            parse_pseudonym(bad)


class TestVolumeSecret:
    """The hub's secret is made once, privately, and read back unchanged."""

    def test_it_is_created_private_and_then_reused(self, tmp_path: Path) -> None:
        first = load_volume_secret(tmp_path / "keys")
        assert load_volume_secret(tmp_path / "keys") == first
        mode = (tmp_path / "keys" / "volume-pseudonym.key").stat().st_mode
        assert stat.S_IMODE(mode) == 0o600
