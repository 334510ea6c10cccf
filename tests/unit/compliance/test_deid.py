from __future__ import annotations

from datetime import date

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayflow.compliance.deid import (
    LEGAL_STATUS,
    Deidentifier,
    Operation,
    Operator,
    Pseudonymiser,
    generalise,
    k_anonymity,
    mask,
    parse_operation,
)
from bayflow.compliance.entities import EntityType
from bayflow.compliance.identifiers import (
    HKID,
    USCC,
    BankCardNumber,
    MacaoID,
    PRCResidentID,
)
from bayflow.compliance.scanner import Scanner
from bayflow.compliance.synthetic import SyntheticGenerator
from bayflow.errors import InvalidInput

E = EntityType
TODAY = date(2025, 6, 30)
KEY = b"k" * 32
MODEST = settings(max_examples=40, deadline=None)
seeds = st.integers(0, 100_000)


@pytest.fixture(scope="module")
def pseudonymiser() -> Pseudonymiser:
    return Pseudonymiser(KEY)


class TestFormatPreserving:
    """Format-preserving pseudonyms are again valid identifiers in the same layout."""

    @MODEST
    @given(seed=seeds)
    def test_prc_ids_stay_valid_and_keep_sex_and_province(self, seed: int) -> None:
        value = SyntheticGenerator(seed).prc_id_value()
        fake = Pseudonymiser(KEY).format_preserving(E.PRC_RESIDENT_ID, value)
        parsed = PRCResidentID.parse(fake, today=TODAY)
        assert fake != value
        assert parsed.sex == PRCResidentID.parse(value, today=TODAY).sex
        assert fake[:2] == value[:2]

    @MODEST
    @given(seed=seeds)
    def test_hkids_keep_brackets_and_a_valid_check(self, seed: int) -> None:
        value = SyntheticGenerator(seed).hkid_value()
        written = f"{value[:-1]}({value[-1]})"
        fake = Pseudonymiser(KEY).format_preserving(E.HK_ID, written)
        assert fake.endswith(")")
        assert HKID.parse(fake).value != value

    @MODEST
    @given(seed=seeds)
    def test_usccs_cards_and_macao_ids_stay_valid(self, seed: int) -> None:
        generator = SyntheticGenerator(seed)
        p = Pseudonymiser(KEY)
        uscc = generator.uscc_value()
        assert USCC.parse(p.format_preserving(E.CN_USCC, uscc)).value[:2] == uscc[:2]
        card = generator.card_value()
        grouped = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
        fake_card = p.format_preserving(E.BANK_CARD, grouped)
        assert fake_card.count(" ") == grouped.count(" ")
        assert BankCardNumber.parse(fake_card).value[:6] == card[:6]
        assert MacaoID.parse(p.format_preserving(E.MO_ID, "1/234567/8")).value[0] == "1"

    @pytest.mark.parametrize(
        ("number", "region"), [("+852 9123 4567", "HK"), ("13812345678", "CN")]
    )
    def test_phones_stay_valid_numbers(
        self, pseudonymiser: Pseudonymiser, number: str, region: str
    ) -> None:
        fake = pseudonymiser.format_preserving(E.PHONE, number)
        assert len(fake) == len(number)
        assert phonenumbers.is_valid_number(phonenumbers.parse(fake, region))

    def test_full_width_digits_stay_full_width(self, pseudonymiser: Pseudonymiser) -> None:
        fake = pseudonymiser.format_preserving(
            E.PRC_RESIDENT_ID, "４４０３０５１９８５０３１２１２３１"
        )
        assert all("０" <= c <= "９" or c == "Ｘ" for c in fake)

    def test_pseudonyms_are_deterministic_per_key(self) -> None:
        one = Pseudonymiser(KEY).format_preserving(E.PRC_RESIDENT_ID, "440305198503121231")
        same = Pseudonymiser(KEY).format_preserving(E.PRC_RESIDENT_ID, "440305198503121231")
        other = Pseudonymiser(b"o" * 32).format_preserving(E.PRC_RESIDENT_ID, "440305198503121231")
        assert one == same != other


class TestOperators:
    """Masks, tokens and generalisation do what their names say."""

    @given(text=st.text(alphabet="0123456789 -()", max_size=30), keep=st.integers(0, 6))
    @MODEST
    def test_masks_keep_the_last_k_characters(self, text: str, keep: int) -> None:
        masked = mask(text, keep)
        alnum = [c for c in text if c.isalnum()]
        kept = alnum[max(0, len(alnum) - keep) :] if keep else []
        assert [c for c in masked if c.isalnum()] == kept
        assert len(masked) == len(text)

    def test_mask_keeps_separators(self) -> None:
        assert mask("+852 9123 4567", 4) == "+*** **** 4567"

    def test_hmac_tokens_ignore_layout_but_not_keys(self, pseudonymiser: Pseudonymiser) -> None:
        token = pseudonymiser.token("PHONE", "9123 4567")
        assert token == pseudonymiser.token("PHONE", "9123-4567")
        assert token != Pseudonymiser(b"o" * 32).token("PHONE", "9123 4567")
        assert token.startswith("PHONE_")

    @pytest.mark.parametrize(
        ("value", "how", "expected"),
        [
            ("1985-03-12", "month", "1985-03"),
            ("1985年3月12日", "year", "1985"),
            ("42", "10", "40-49"),
            ("unknown", "year", "*"),
        ],
    )
    def test_generalise(self, value: str, how: str, expected: str) -> None:
        assert generalise(value, how) == expected

    def test_short_keys_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="at least 16 bytes"):
            Pseudonymiser(b"short")

    @pytest.mark.parametrize(
        "spec", ["PHONE", "PHONE=shred", "PHONE=mask:x", "age=generalise:decade"]
    )
    def test_malformed_operations_are_refused(self, spec: str) -> None:
        with pytest.raises(InvalidInput):
            parse_operation(spec)


class TestDeidentifier:
    """Operations apply by entity type in text and by column in tables."""

    def test_text_findings_are_replaced_in_place(self) -> None:
        deid = Deidentifier(
            {"PRC_RESIDENT_ID": Operation(Operator.REDACT), "PHONE": Operation(Operator.MASK, "4")},
            Scanner(today=TODAY),
        )
        text = "身份证号440305198503121231已核实，电话13812345678。"
        assert deid.text(text) == "身份证号[PRC_RESIDENT_ID]已核实，电话*******5678。"
        assert deid.counts == {"PRC_RESIDENT_ID": 1, "PHONE": 1}

    def test_column_operations_take_precedence(self) -> None:
        deid = Deidentifier(
            {"age": Operation(Operator.GENERALISE, "10"), "PHONE": Operation(Operator.REDACT)},
            Scanner(today=TODAY),
        )
        assert deid.column(["42", None], "age") == ["40-49", None]
        assert deid.column(["電話 9123 4567"], "notes") == ["電話 [PHONE]"]

    def test_keyed_operations_need_a_key(self) -> None:
        with pytest.raises(InvalidInput, match="key"):
            Deidentifier({"EMAIL": Operation(Operator.HMAC)}, Scanner(today=TODAY))

    def test_the_legal_status_is_never_anonymous(self) -> None:
        assert LEGAL_STATUS["status"] == "pseudonymised"
        assert LEGAL_STATUS["anonymised"] is False


class TestKAnonymity:
    """The k-anonymity report counts equivalence classes over quasi-identifiers."""

    def test_report_on_a_small_table(self) -> None:
        header = ["city", "age", "name"]
        rows = [
            ["深圳", "30-39", "a"],
            ["深圳", "30-39", "b"],
            ["深圳", "30-39", "c"],
            ["香港", "40-49", "d"],
            ["香港", "40-49", "e"],
            ["澳門", "20-29", "f"],
        ]
        report = k_anonymity(header, rows, ["city", "age"])
        assert (report.records, report.classes, report.k) == (6, 3, 1)
        assert report.class_sizes == {3: 1, 2: 1, 1: 1}
        assert report.records_below(2) == 1
        assert report.records_below(3) == 3
        assert report.to_json(2)["meets_target"] is False

    def test_unknown_columns_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="no such column"):
            k_anonymity(["a"], [["1"]], ["b"])
