import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.ledger.entry import DIGEST_SIZE, Entry, EntryKind
from bayflow.ledger.errors import MalformedEntry

printable = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=255
)


class TestEntry:
    """Ledger entries have one strict, versioned byte encoding."""

    def test_known_encoding(self) -> None:
        entry = Entry(EntryKind.DOCUMENT, bytes(range(32)), "invoice/1", "org_x")
        assert entry.to_bytes() == (
            b"\x01\x08document" + bytes(range(32)) + b"\x09invoice/1" + b"\x05org_x"
        )

    @given(
        kind=st.sampled_from(list(EntryKind)),
        digest=st.binary(min_size=DIGEST_SIZE, max_size=DIGEST_SIZE),
        schema=printable,
        issuer=printable,
    )
    def test_round_trip(self, kind: EntryKind, digest: bytes, schema: str, issuer: str) -> None:
        entry = Entry(kind, digest, schema, issuer)
        assert Entry.from_bytes(entry.to_bytes()) == entry

    @given(st.binary(max_size=80))
    def test_arbitrary_bytes_either_decode_exactly_or_raise(self, data: bytes) -> None:
        try:
            entry = Entry.from_bytes(data)
        except MalformedEntry:
            return
        assert entry.to_bytes() == data

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (b"", "version 1"),
            (b"\x02\x08document", "version 1"),
            (b"\x01\x07unknown" + bytes(32) + b"\x01a\x01b", "unknown ledger entry kind"),
            (b"\x01\x08document" + bytes(31), "truncated"),
            (b"\x01\x08document" + bytes(32) + b"\x01a\x01bX", "trailing"),
            (b"\x01\x08document" + bytes(32) + b"\x01 \x01b", "printable"),
        ],
    )
    def test_malformed_entries_are_refused(self, data: bytes, message: str) -> None:
        with pytest.raises(MalformedEntry, match=message):
            Entry.from_bytes(data)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"digest": bytes(31)},
            {"schema": ""},
            {"schema": "with space"},
            {"issuer": "x" * 256},
            {"issuer": "机构"},
        ],
    )
    def test_constructor_checks_every_field(self, kwargs: dict) -> None:
        fields = {"kind": EntryKind.RECORD, "digest": bytes(32), "schema": "s", "issuer": "i"}
        with pytest.raises(MalformedEntry):
            Entry(**(fields | kwargs))
