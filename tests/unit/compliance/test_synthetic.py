from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from bayflow.compliance.entities import EntityType
from bayflow.compliance.identifiers import HKID, USCC, BankCardNumber, PRCResidentID
from bayflow.compliance.synthetic import SyntheticGenerator

TODAY = date(2025, 6, 30)
MODEST = settings(max_examples=30, deadline=None)


class TestSyntheticGenerator:
    """The generator writes valid, exactly labelled identifiers, reproducibly."""

    def test_a_seed_names_a_corpus(self) -> None:
        assert SyntheticGenerator(5).document() == SyntheticGenerator(5).document()
        assert SyntheticGenerator(5).document() != SyntheticGenerator(6).document()

    @MODEST
    @given(seed=st.integers(0, 100_000))
    def test_labels_hold_valid_identifiers(self, seed: int) -> None:
        document = SyntheticGenerator(seed).document()
        parsers = {
            EntityType.PRC_RESIDENT_ID: lambda v: PRCResidentID.parse(v, today=TODAY),
            EntityType.HK_ID: HKID.parse,
            EntityType.CN_USCC: USCC.parse,
            EntityType.BANK_CARD: BankCardNumber.parse,
        }
        for label in document.labels:
            value = document.text[label.start : label.end]
            assert value == value.strip()
            if label.entity_type in parsers:
                parsers[label.entity_type](value)

    def test_corpus_reaches_its_size_with_shifted_labels(self) -> None:
        corpus = SyntheticGenerator(1).corpus(20_000)
        assert len(corpus.text.encode()) >= 20_000
        for label in corpus.labels:
            assert corpus.text[label.start : label.end].strip()

    def test_tables_label_whole_cells(self) -> None:
        table = SyntheticGenerator(2).table(5, "en")
        assert table.header[0] == "Name"
        for label in table.labels:
            column = table.header.index(label.column or "")
            assert table.rows[label.row or 0][column][label.start : label.end]
