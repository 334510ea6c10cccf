import hashlib
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.errors import InvalidInput
from bayflow.ledger.commitment import (
    DISCLOSURE_TYPE,
    SALT_TYPE,
    CommitmentSecret,
    FieldDisclosure,
    RecordDisclosure,
    canonical_json,
    commit,
    commit_chunks,
    commit_document,
    commit_record,
    commit_record_fields,
    disclose,
    field_digest,
    padded_count,
    parse_record,
    verify_content,
)
from bayflow.ledger.entry import Entry, EntryKind
from bayflow.ledger.errors import ContentMismatch, MalformedCommitment, MalformedEntry
from tests.strategies import json_records, json_scalars

SALT = bytes(range(32))
SCHEMA = "vat-annual-summary/1"
ISSUER = "org_pearl_river"
# The scenario's record (SCENARIO.md, step 6): Bayline's 2025 annual VAT summary.
VAT_SUMMARY: dict[str, Any] = {
    "taxpayer": "91440300MA5G7K2P0C",
    "period": "2025",
    "total_sales": "48200000.00",
    "total_tax": "2892000.00",
    "invoices": 1873,
    "currency": "CNY",
}

ascii_names = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20
)


def _lp(part: bytes) -> bytes:
    return len(part).to_bytes(8, "big") + part


def _reference_commitment(
    kind: str, salt: bytes, schema: str, issuer: str, content: bytes
) -> bytes:
    """The construction as the module docstring states it, written out independently."""
    parts = [b"bayflow/commitment/v1", kind.encode(), salt, schema.encode(), issuer.encode()]
    return hashlib.sha256(b"".join(_lp(p) for p in [*parts, content])).digest()


def _flip(data: bytes, position: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def _change_character(text: str, position: int) -> str:
    """Another printable ASCII character at one position, so the entry stays valid."""
    position %= len(text)
    replacement = "b" if text[position] == "a" else "a"
    return text[:position] + replacement + text[position + 1 :]


class TestCommitment:
    """A commitment is a domain-separated, length-prefixed hash of salt, metadata and content."""

    def test_matches_the_documented_construction(self) -> None:
        content = b"%PDF-1.7 annual VAT summary"
        assert commit(EntryKind.DOCUMENT, SALT, SCHEMA, ISSUER, content) == _reference_commitment(
            "document", SALT, SCHEMA, ISSUER, content
        )

    def test_a_record_commits_to_its_canonical_json(self) -> None:
        secret = commit_record(VAT_SUMMARY, SCHEMA, ISSUER, salt=SALT)
        expected = _reference_commitment(
            "record", SALT, SCHEMA, ISSUER, canonical_json(VAT_SUMMARY)
        )
        assert secret.commitment == expected
        reordered = json.dumps(dict(reversed(VAT_SUMMARY.items())), indent=4).encode()
        verify_content(secret, reordered)

    def test_fresh_salts_are_256_bits_and_differ(self) -> None:
        first = commit_document(b"same", SCHEMA, ISSUER)
        second = commit_document(b"same", SCHEMA, ISSUER)
        assert len(first.salt) == 32
        assert first.salt != second.salt
        assert first.commitment != second.commitment

    def test_the_kind_is_bound(self) -> None:
        content = canonical_json(VAT_SUMMARY)
        as_document = commit(EntryKind.DOCUMENT, SALT, SCHEMA, ISSUER, content)
        as_record = commit(EntryKind.RECORD, SALT, SCHEMA, ISSUER, content)
        assert as_document != as_record

    def test_length_prefixes_keep_parts_apart(self) -> None:
        # Moving a byte from the schema to the issuer would collide without the prefixes.
        assert commit(EntryKind.DOCUMENT, SALT, "ab", "c", b"") != commit(
            EntryKind.DOCUMENT, SALT, "a", "bc", b""
        )

    def test_streaming_gives_the_same_commitment(self) -> None:
        content = bytes(range(256)) * 100
        chunks = [content[i : i + 1000] for i in range(0, len(content), 1000)]
        assert commit_chunks(
            EntryKind.DOCUMENT, SALT, SCHEMA, ISSUER, chunks, length=len(content)
        ) == commit(EntryKind.DOCUMENT, SALT, SCHEMA, ISSUER, content)

    def test_a_file_that_changes_length_while_read_is_refused(self) -> None:
        with pytest.raises(ContentMismatch, match="bytes long"):
            commit_chunks(EntryKind.DOCUMENT, SALT, SCHEMA, ISSUER, [b"abc"], length=4)

    def test_revocations_and_records_are_not_byte_kinds(self) -> None:
        for kind in (EntryKind.REVOCATION, EntryKind.RECORD, EntryKind.RECORD_FIELDS):
            with pytest.raises(InvalidInput, match="does not commit to raw bytes"):
                commit_document(b"x", SCHEMA, ISSUER, kind=kind)

    def test_other_byte_kinds_are_accepted(self) -> None:
        secret = commit_document(b"receipt", "receipt/1", ISSUER, kind=EntryKind.ACCESS_RECEIPT)
        assert secret.entry().kind is EntryKind.ACCESS_RECEIPT

    def test_metadata_must_fit_the_ledger_entry(self) -> None:
        with pytest.raises(MalformedEntry):
            commit_document(b"x", "has space", ISSUER)

    def test_a_salt_has_exactly_32_bytes(self) -> None:
        with pytest.raises(MalformedCommitment):
            commit_document(b"x", SCHEMA, ISSUER, salt=b"short")

    @given(
        content=st.binary(min_size=1, max_size=200),
        salt=st.binary(min_size=32, max_size=32),
        schema=ascii_names,
        issuer=ascii_names,
        position=st.integers(min_value=0),
        part=st.sampled_from(["content", "salt", "schema", "issuer"]),
    )
    def test_changing_any_byte_of_any_part_changes_the_commitment(
        self, *, content: bytes, salt: bytes, schema: str, issuer: str, position: int, part: str
    ) -> None:
        secret = commit_document(content, schema, issuer, salt=salt)
        verify_content(secret, content)
        if part == "content":
            content = _flip(content, position)
        elif part == "salt":
            salt = _flip(salt, position)
        elif part == "schema":
            schema = _change_character(schema, position)
        else:
            issuer = _change_character(issuer, position)
        other = commit(EntryKind.DOCUMENT, salt, schema, issuer, content)
        assert other != secret.commitment

    @given(content=st.binary(max_size=200), position=st.integers(min_value=0))
    def test_verification_refuses_changed_content(self, content: bytes, position: int) -> None:
        secret = commit_document(content, SCHEMA, ISSUER)
        verify_content(secret, content)
        tampered = _flip(content, position) if content else b"\x00"
        with pytest.raises(ContentMismatch, match="content or its salt"):
            verify_content(secret, tampered)

    def test_verification_refuses_another_salt(self) -> None:
        secret = commit_document(b"content", SCHEMA, ISSUER)
        forged = CommitmentSecret(
            secret.kind, SCHEMA, ISSUER, _flip(secret.salt, 0), secret.commitment
        )
        with pytest.raises(ContentMismatch):
            verify_content(forged, b"content")


class TestCanonicalJSON:
    """Records are read strictly and canonicalised with RFC 8785."""

    def test_duplicate_member_names_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="duplicate"):
            parse_record(b'{"a": 1, "a": 2}')

    def test_non_finite_numbers_are_refused(self) -> None:
        with pytest.raises(InvalidInput):
            parse_record(b'{"a": NaN}')

    def test_a_record_is_an_object(self) -> None:
        with pytest.raises(InvalidInput, match="not a JSON object"):
            parse_record(b"[1, 2]")

    def test_integers_beyond_2_to_the_53_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="RFC 8785"):
            canonical_json({"amount": 2**60})

    def test_numbers_take_their_shortest_form(self) -> None:
        assert canonical_json({"b": 1.0, "a": -0.0}) == b'{"a":0,"b":1}'


class TestSaltFile:
    """``FILE.salt`` round-trips and is parsed strictly."""

    def test_document_secret_round_trips(self) -> None:
        secret = commit_document(b"content", SCHEMA, ISSUER)
        data = json.loads(secret.to_bytes())
        assert set(data) == {"type", "kind", "schema", "issuer", "salt", "commitment"}
        assert data["type"] == SALT_TYPE
        assert CommitmentSecret.from_bytes(secret.to_bytes()) == secret

    def test_field_secret_round_trips(self) -> None:
        secret = commit_record_fields(VAT_SUMMARY, SCHEMA, ISSUER)
        data = json.loads(secret.to_bytes())
        assert set(data["fields"]) == set(VAT_SUMMARY)
        assert len(data["fields"]) + len(data["decoys"]) == 16
        assert CommitmentSecret.from_bytes(secret.to_bytes()) == secret

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda d: d.update(type="bayflow-salt/2"), "not a salt file"),
            (lambda d: d.update(extra=1), "unknown ones"),
            (lambda d: d.pop("commitment"), "missing members"),
            (lambda d: d.update(salt=d["salt"].upper()), "lowercase hex"),
            (lambda d: d.update(salt=d["salt"][:-2]), "64 lowercase hex"),
            (lambda d: d.update(kind="revocation"), "not a commitment"),
            (lambda d: d.update(kind="nonsense"), "unknown commitment kind"),
            (lambda d: d.update(fields={}), "unknown ones"),
            (lambda d: d.update(schema=7), "must be a string"),
        ],
        ids=[
            "future-version",
            "extra-member",
            "missing-member",
            "uppercase-hex",
            "short-salt",
            "revocation-kind",
            "unknown-kind",
            "fields-on-a-document",
            "schema-not-text",
        ],
    )
    def test_malformed_salt_files_are_refused(self, change: Any, message: str) -> None:
        data = json.loads(commit_document(b"content", SCHEMA, ISSUER).to_bytes())
        change(data)
        with pytest.raises(MalformedCommitment, match=message):
            CommitmentSecret.from_bytes(json.dumps(data).encode())

    def test_duplicate_members_are_refused(self) -> None:
        text = commit_document(b"x", SCHEMA, ISSUER).to_bytes().decode()
        doubled = text.replace('"kind": "document"', '"kind": "document", "kind": "record"')
        with pytest.raises(MalformedCommitment, match="duplicate"):
            CommitmentSecret.from_bytes(doubled.encode())

    def test_not_json_is_refused(self) -> None:
        with pytest.raises(MalformedCommitment, match="not valid JSON"):
            CommitmentSecret.from_bytes(b"\xff")

    def test_the_entry_carries_the_commitment_and_metadata(self) -> None:
        secret = commit_document(b"content", SCHEMA, ISSUER)
        assert secret.entry() == Entry(EntryKind.DOCUMENT, secret.commitment, SCHEMA, ISSUER)


class TestRecordFields:
    """A record committed field by field can be disclosed in part and checked by anyone."""

    @pytest.mark.parametrize(
        ("fields", "digests"), [(0, 16), (1, 16), (16, 16), (17, 32), (1000, 1024)]
    )
    def test_digest_lists_are_padded_to_a_power_of_two(self, fields: int, digests: int) -> None:
        assert padded_count(fields) == digests

    def test_too_many_fields_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="at most"):
            padded_count(4097)

    def test_the_commitment_is_over_the_sorted_digests(self) -> None:
        secret = commit_record_fields(VAT_SUMMARY, SCHEMA, ISSUER)
        digests = sorted(
            [field_digest(secret.fields[name], name, value) for name, value in VAT_SUMMARY.items()]
            + list(secret.decoys)
        )
        expected = _reference_commitment(
            "record-fields", secret.salt, SCHEMA, ISSUER, b"".join(digests)
        )
        assert secret.commitment == expected

    def test_the_scenario_disclosure_reveals_three_fields(self) -> None:
        secret = commit_record_fields(VAT_SUMMARY, SCHEMA, ISSUER)
        disclosure = disclose(secret, VAT_SUMMARY, ["total_sales", "total_tax", "period"])
        parsed = RecordDisclosure.from_bytes(disclosure.to_bytes())
        assert parsed.verify() == {
            "period": "2025",
            "total_sales": "48200000.00",
            "total_tax": "2892000.00",
        }
        text = disclosure.to_bytes().decode()
        assert "91440300MA5G7K2P0C" not in text
        assert json.loads(text)["type"] == DISCLOSURE_TYPE

    @given(record=json_records(), data=st.data())
    def test_any_subset_verifies_and_reveals_exactly_that_subset(
        self, record: dict[str, Any], data: st.DataObject
    ) -> None:
        secret = commit_record_fields(record, SCHEMA, ISSUER)
        verify_content(secret, json.dumps(record).encode())
        chosen = data.draw(st.sets(st.sampled_from(sorted(record))) if record else st.just(set()))
        disclosure = RecordDisclosure.from_bytes(disclose(secret, record, chosen).to_bytes())
        revealed = disclosure.verify()
        assert revealed.keys() == chosen
        assert all(canonical_json(revealed[k]) == canonical_json(record[k]) for k in chosen)
        assert len(disclosure.digests) == padded_count(len(record))
        assert disclosure.entry() == secret.entry()

    @given(record=json_records(min_size=1), data=st.data())
    def test_tampering_with_a_disclosed_value_fails(
        self, record: dict[str, Any], data: st.DataObject
    ) -> None:
        secret = commit_record_fields(record, SCHEMA, ISSUER)
        name = data.draw(st.sampled_from(sorted(record)))
        disclosure = disclose(secret, record, [name])
        forged_value = data.draw(
            json_scalars.filter(lambda v: canonical_json(v) != canonical_json(record[name]))
        )
        item = disclosure.disclosed[0]
        forged = RecordDisclosure(
            disclosure.schema,
            disclosure.issuer,
            disclosure.salt,
            disclosure.commitment,
            disclosure.digests,
            (FieldDisclosure(item.salt, item.name, forged_value),),
        )
        with pytest.raises(ContentMismatch, match=re.escape(repr(name))):
            forged.verify()

    def test_tampering_with_the_digest_list_fails(self) -> None:
        secret = commit_record_fields(VAT_SUMMARY, SCHEMA, ISSUER)
        disclosure = disclose(secret, VAT_SUMMARY, ["period"])
        period = disclosure.disclosed[0].digest
        victim = next(d for d in disclosure.digests if d != period)
        digests = tuple(sorted({*disclosure.digests} - {victim} | {_flip(victim, 5)}))
        forged = RecordDisclosure(
            SCHEMA, ISSUER, disclosure.salt, disclosure.commitment, digests, disclosure.disclosed
        )
        with pytest.raises(ContentMismatch, match="do not give the commitment"):
            forged.verify()

    def test_renaming_a_disclosed_field_fails(self) -> None:
        secret = commit_record_fields(VAT_SUMMARY, SCHEMA, ISSUER)
        disclosure = disclose(secret, VAT_SUMMARY, ["total_tax"])
        item = disclosure.disclosed[0]
        forged = RecordDisclosure(
            SCHEMA,
            ISSUER,
            disclosure.salt,
            disclosure.commitment,
            disclosure.digests,
            (FieldDisclosure(item.salt, "total_sales", item.value),),
        )
        with pytest.raises(ContentMismatch):
            forged.verify()

    def test_a_changed_record_does_not_open_the_commitment(self) -> None:
        secret = commit_record_fields(VAT_SUMMARY, SCHEMA, ISSUER)
        changed = {**VAT_SUMMARY, "total_tax": "1.00"}
        with pytest.raises(ContentMismatch):
            verify_content(secret, json.dumps(changed).encode())
        with pytest.raises(ContentMismatch):
            disclose(secret, changed, ["period"])

    def test_a_record_with_another_field_set_does_not_open_the_commitment(self) -> None:
        secret = commit_record_fields(VAT_SUMMARY, SCHEMA, ISSUER)
        with pytest.raises(ContentMismatch, match="fields"):
            verify_content(secret, json.dumps({**VAT_SUMMARY, "extra": 1}).encode())

    def test_unknown_fields_cannot_be_disclosed(self) -> None:
        secret = commit_record_fields(VAT_SUMMARY, SCHEMA, ISSUER)
        with pytest.raises(InvalidInput, match="no field"):
            disclose(secret, VAT_SUMMARY, ["net_profit"])

    def test_a_whole_record_commitment_cannot_be_disclosed_in_part(self) -> None:
        secret = commit_record(VAT_SUMMARY, SCHEMA, ISSUER)
        with pytest.raises(InvalidInput, match="--fields"):
            disclose(secret, VAT_SUMMARY, ["period"])

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda d: d["digests"].reverse(), "sorted and distinct"),
            (lambda d: d["digests"].append(d["digests"][-1]), "sorted and distinct"),
            (lambda d: d.update(digests=[]), "1 to 4096"),
            (lambda d: d["disclosed"].append(d["disclosed"][0]), "each once"),
            (lambda d: d["disclosed"].reverse(), "sorted by name"),
            (lambda d: d["disclosed"][0].pop(), r"\[salt, name, value\]"),
            (lambda d: d.update(kind="record"), "only record-fields"),
            (lambda d: d.pop("salt"), "missing members"),
            (lambda d: d.update(type=SALT_TYPE), "not a disclosure file"),
        ],
        ids=[
            "unsorted-digests",
            "repeated-digest",
            "no-digests",
            "repeated-field",
            "unsorted-fields",
            "short-disclosure",
            "whole-record-kind",
            "missing-salt",
            "salt-file-type",
        ],
    )
    def test_malformed_disclosures_are_refused(self, change: Any, message: str) -> None:
        secret = commit_record_fields(VAT_SUMMARY, SCHEMA, ISSUER)
        data = json.loads(disclose(secret, VAT_SUMMARY, ["period", "total_tax"]).to_bytes())
        change(data)
        with pytest.raises(MalformedCommitment, match=message):
            RecordDisclosure.from_bytes(json.dumps(data).encode())
