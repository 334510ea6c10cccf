from __future__ import annotations

import string
from dataclasses import FrozenInstanceError
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayflow.compliance import identifiers
from bayflow.compliance.identifiers import (
    HKBRN,
    HKID,
    LEI,
    USCC,
    BankCardNumber,
    HKBRCertificateNumber,
    HKSARPassportNumber,
    HomeReturnPermit,
    MacaoID,
    MacaoRegistrationNumber,
    OrganisationCode,
    PRCPassportNumber,
    PRCResidentID,
    hkid_check_character,
    lei_check_digits,
    luhn_check_digit,
    organisation_code_check_character,
    prc_id_check_character,
    uscc_check_character,
)
from bayflow.errors import InvalidIdentifier, InvalidInput

# Property tests stay quick: the schemes are small and the edge cases are enumerated below.
MODEST = settings(max_examples=60, deadline=None)

TODAY = date(2025, 6, 30)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ALNUM = string.digits + string.ascii_uppercase
PROVINCES = ["11", "31", "44", "45", "46", "50", "65"]
USCC_AUTHORITY_TYPES = ["11", "12", "19", "31", "35", "51", "53", "71", "81", "91", "92", "93"]
USCC_AUTHORITY_TYPES += ["A1", "N1", "Y1"]


def alnum_value(char: str) -> int:
    return int(char, 36)


# -- strategies -----------------------------------------------------------------------------


@st.composite
def division_codes(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(PROVINCES))
    prefecture = draw(st.integers(1, 99))
    county = draw(st.integers(0, 99))
    return f"{province}{prefecture:02d}{county:02d}"


@st.composite
def usccs(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(USCC_AUTHORITY_TYPES)) + draw(division_codes())
    org_body = draw(st.text(USCC_ALPHABET, min_size=8, max_size=8))
    body = head + org_body + organisation_code_check_character(org_body)
    return body + uscc_check_character(body)


@st.composite
def organisation_codes(draw: st.DrawFn) -> str:
    body = draw(st.text(ALNUM, min_size=8, max_size=8))
    return body + organisation_code_check_character(body)


@st.composite
def prc_ids(draw: st.DrawFn) -> str:
    region = draw(st.one_of(division_codes(), st.sampled_from(["810000", "820000", "830000"])))
    born = draw(st.dates(date(1900, 1, 1), TODAY))
    sequence = draw(st.integers(0, 999))
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + prc_id_check_character(body)


@st.composite
def hkids(draw: st.DrawFn) -> str:
    prefix = draw(st.text(string.ascii_uppercase, min_size=1, max_size=2))
    body = prefix + draw(st.text(string.digits, min_size=6, max_size=6))
    return body + hkid_check_character(body)


@st.composite
def leis(draw: st.DrawFn) -> str:
    body = draw(st.text(ALNUM, min_size=18, max_size=18))
    return body + lei_check_digits(body)


@st.composite
def unionpay_cards(draw: st.DrawFn) -> str:
    body = "62" + draw(st.text(string.digits, min_size=13, max_size=16))
    return body + luhn_check_digit(body)


def substitute(value: str, position: int, char: str) -> str:
    return value[:position] + char + value[position + 1 :]


@st.composite
def substitutions(draw: st.DrawFn, values: st.SearchStrategy[str], alphabet: str) -> tuple:
    """A valid value, a position in it and a different character from ``alphabet``."""
    value = draw(values)
    position = draw(st.integers(0, len(value) - 1))
    char = draw(st.sampled_from(alphabet).filter(lambda c: c != value[position]))
    return value, position, char


def assert_refused(parse, text: str, *needles: str) -> str:
    with pytest.raises(InvalidIdentifier) as caught:
        parse(text)
    message = str(caught.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message
    return message


# -- the reference scenario -----------------------------------------------------------------


class TestScenarioIdentifiers:
    """The identifiers of the reference scenario pass every check."""

    @pytest.mark.parametrize("text", ["91440300MA5G7K2P0C", "91440400MA5H3Q8R0D"])
    def test_uscc_parses(self, text):
        assert str(USCC.parse(text)) == text

    def test_prc_id_parses(self):
        chen_wei = PRCResidentID.parse("440305198503121231", today=TODAY)
        assert chen_wei.birth_date == date(1985, 3, 12)
        assert chen_wei.division_code == "440305"
        assert chen_wei.sex == "M"

    @pytest.mark.parametrize("text", ["12345678", "87654321"])
    def test_brn_parses(self, text):
        assert str(HKBRN.parse(text)) == text

    def test_hkid_parses(self):
        assert str(HKID.parse("K234567(6)")) == "K234567(6)"


# -- kinds with check characters ------------------------------------------------------------


class TestUSCC:
    """A Unified Social Credit Code passes GB 32100 and the embedded GB 11714 check."""

    def test_accepts_public_example(self):
        code = USCC.parse("91110000600037341L")
        assert code.registration_authority == "9"
        assert code.entity_type == "1"
        assert code.division_code == "110000"
        assert str(code.organisation_code) == "60003734-1"

    def test_normalises_full_width_lower_case_and_separators(self):
        assert USCC.parse(" ９１４４０３００ma5g7k2p-0c ") == USCC("91440300MA5G7K2P0C")

    def test_flags_individual_businesses_as_potential_personal_information(self):
        body = "92440300" + "MA5G7K2P" + organisation_code_check_character("MA5G7K2P")
        assert USCC.parse(body + uscc_check_character(body)).is_individual_business
        assert not USCC.parse("91440300MA5G7K2P0C").is_individual_business

    def test_refuses_wrong_check_character_naming_mod_31(self):
        message = assert_refused(USCC.parse, "91440300MA5G7K2P0X", "GB 32100 mod 31")
        assert message == (
            "USCC 91440300MA5G7K2P0X: check character is X, expected C (GB 32100 mod 31)"
        )

    @pytest.mark.parametrize("text", ["", "   "])
    def test_refuses_empty_input(self, text):
        assert_refused(USCC.parse, text, "USCC: empty")

    def test_refuses_wrong_length(self):
        assert_refused(USCC.parse, "91440300MA5G7K2P0", "length is 17, expected 18")

    @pytest.mark.parametrize("char", ["I", "O", "S", "V", "Z"])
    def test_refuses_letters_outside_the_alphabet(self, char):
        text = substitute("91440300MA5G7K2P0C", 9, char)
        assert_refused(USCC.parse, text, f"character {char!r} at position 10", "GB 32100 alphabet")

    def test_refuses_unassigned_registration_authority(self):
        assert_refused(USCC.parse, "B1440300MA5G7K2P0C", "registration authority code B")

    def test_refuses_entity_type_undefined_for_the_authority(self):
        assert_refused(USCC.parse, "94440300MA5G7K2P0C", "entity type code 4", "authority 9")

    def test_refuses_division_code_with_letters(self):
        assert_refused(USCC.parse, "9144A300MA5G7K2P0C", "division code 44A300 is not six digits")

    def test_refuses_division_code_outside_any_province(self):
        body = "91990300MA5G7K2P0"
        message = assert_refused(USCC.parse, body + uscc_check_character(body), "GB/T 2260")
        assert "province" in message

    def test_refuses_county_digits_under_no_prefecture(self):
        body = "91440012MA5G7K2P0"
        assert_refused(USCC.parse, body + uscc_check_character(body), "no prefecture")

    def test_accepts_the_central_registration_division(self):
        body = "11100000MA5G7K2P0"
        assert USCC.parse(body + uscc_check_character(body)).division_code == "100000"

    def test_refuses_embedded_organisation_code_with_wrong_check(self):
        # The mod-31 character is recomputed so that only the GB 11714 check can fail.
        body = "91440300MA5G7K2P1"
        message = assert_refused(USCC.parse, body + uscc_check_character(body), "GB 11714")
        assert "embedded organisation code MA5G7K2P1 has check character 1, expected 0" in message

    def test_constructor_runs_the_same_checks(self):
        with pytest.raises(InvalidIdentifier, match="GB 32100 mod 31"):
            USCC("91440300MA5G7K2P0X")

    def test_constructor_expects_the_compact_form(self):
        with pytest.raises(InvalidIdentifier, match="length"):
            USCC("91440300 MA5G7K2P0C")

    def test_is_an_invalid_input_error(self):
        with pytest.raises(InvalidInput):
            USCC.parse("nonsense")

    def test_is_immutable(self):
        code = USCC.parse("91440300MA5G7K2P0C")
        with pytest.raises(FrozenInstanceError):
            code.value = "91440400MA5H3Q8R0D"  # type: ignore[misc]

    def test_check_function_refuses_malformed_bodies(self):
        with pytest.raises(InvalidIdentifier, match="body length"):
            uscc_check_character("9144")
        with pytest.raises(InvalidIdentifier, match="alphabet"):
            uscc_check_character("91440300MA5G7K2PI")

    @MODEST
    @given(usccs())
    def test_generated_codes_round_trip(self, text):
        code = USCC.parse(text)
        assert str(code) == text
        assert USCC.parse(str(code)) == code

    @MODEST
    @given(substitutions(usccs(), USCC_ALPHABET))
    def test_any_single_substitution_is_refused(self, case):
        value, position, char = case
        with pytest.raises(InvalidIdentifier):
            USCC.parse(substitute(value, position, char))

    @MODEST
    @given(substitutions(usccs(), USCC_ALPHABET))
    def test_mod_31_detects_every_single_substitution_in_the_body(self, case):
        value, position, char = case
        if position == 17:
            return
        # 31 is prime and every weight 3^i mod 31 is non-zero, so no change of one value can
        # leave the weighted sum unchanged modulo 31.
        assert uscc_check_character(substitute(value, position, char)[:17]) != value[17]


class TestOrganisationCode:
    """A GB 11714 organisation code carries a mod-11 check character."""

    def test_accepts_public_example(self):
        code = OrganisationCode.parse("D2143569-X")
        assert code.value == "D2143569X"
        assert str(code) == "D2143569-X"

    def test_refuses_wrong_check_character(self):
        assert_refused(OrganisationCode.parse, "D2143569-1", "expected X (GB 11714 mod 11)")

    def test_refuses_check_character_other_than_digit_or_x(self):
        assert_refused(OrganisationCode.parse, "D2143569-Y", "check character 'Y'")

    def test_refuses_punctuation_in_the_body(self):
        assert_refused(OrganisationCode.parse, "D214.569-X", "character '.' at position 5")

    def test_refuses_wrong_length(self):
        assert_refused(OrganisationCode.parse, "D214356-X", "length is 8, expected 9")

    @MODEST
    @given(organisation_codes())
    def test_generated_codes_round_trip(self, text):
        code = OrganisationCode.parse(text)
        assert OrganisationCode.parse(str(code)) == code

    @MODEST
    @given(substitutions(organisation_codes(), ALNUM))
    def test_detects_substitutions_unless_values_differ_by_a_multiple_of_11(self, case):
        value, position, char = case
        changed = substitute(value, position, char)
        if position == 8:
            if char in "0123456789X":
                assert_refused(OrganisationCode.parse, changed, "GB 11714")
            return
        # Letters run to 35, so a body value can move by 11, 22 or 33 without changing the sum
        # modulo 11: a documented blind spot of the scheme, which the USCC mod-31 check covers.
        blind = (alnum_value(char) - alnum_value(value[position])) % 11 == 0
        assert (organisation_code_check_character(changed[:8]) == value[8]) == blind


class TestPRCResidentID:
    """A PRC resident ID number passes MOD 11-2, a real birth date and a plausible region."""

    @pytest.mark.parametrize("text", ["11010519491231002X", "360426199101010071"])
    def test_accepts_public_examples(self, text):
        assert str(PRCResidentID.parse(text, today=TODAY)) == text

    def test_accepts_lower_case_check_and_spaced_groups(self):
        parsed = PRCResidentID.parse("110105 19491231 002x", today=TODAY)
        assert parsed.value == "11010519491231002X"
        assert parsed.sex == "F"

    @pytest.mark.parametrize(
        ("text", "region"),
        [
            ("810000199001011230", "HK"),
            ("820000199001011232", "MO"),
            ("830000199001011234", "TW"),
        ],
    )
    def test_accepts_residence_permits(self, text, region):
        assert PRCResidentID.parse(text, today=TODAY).residence_permit_region == region

    def test_resident_cards_have_no_permit_region(self):
        parsed = PRCResidentID.parse("440305198503121231", today=TODAY)
        assert parsed.residence_permit_region is None

    def test_refuses_public_invalid_example_naming_mod_11_2(self):
        message = assert_refused(
            lambda t: PRCResidentID.parse(t, today=TODAY),
            "440305199001011234",
            "PRC resident ID",
            "check character is 4, expected X (ISO 7064 MOD 11-2)",
        )
        # The number itself stays out of the message so that logs do not collect it.
        assert "440305199001011234" not in message

    def test_refuses_residence_permit_region_with_sub_division(self):
        body = "81010019900101123"
        assert_refused(PRCResidentID.parse, body + prc_id_check_character(body), "810000")

    def test_refuses_unknown_province(self):
        body = "99030519850312123"
        assert_refused(PRCResidentID.parse, body + prc_id_check_character(body), "GB/T 2260")

    def test_refuses_impossible_birth_date(self):
        body = "44030519850230123"
        assert_refused(
            PRCResidentID.parse,
            body + prc_id_check_character(body),
            "birth date 19850230 is not a calendar date",
        )

    def test_refuses_birth_before_1900(self):
        body = "44030518991231123"
        assert_refused(PRCResidentID.parse, body + prc_id_check_character(body), "before 1900")

    def test_accepts_birth_today(self):
        body = f"440305{TODAY:%Y%m%d}123"
        assert PRCResidentID.parse(body + prc_id_check_character(body), today=TODAY)

    def test_refuses_birth_after_the_injected_today(self):
        tomorrow = TODAY + timedelta(days=1)
        body = f"440305{tomorrow:%Y%m%d}123"
        assert_refused(
            lambda t: PRCResidentID.parse(t, today=TODAY),
            body + prc_id_check_character(body),
            "is after today (2025-06-30)",
        )

    def test_refuses_letters_in_the_body(self):
        assert_refused(PRCResidentID.parse, "44030519850312123A1", "length is 19")
        assert_refused(PRCResidentID.parse, "4403051985031212A1", "position 17 is not a digit")

    def test_refuses_check_character_other_than_digit_or_x(self):
        assert_refused(PRCResidentID.parse, "44030519850312123Y", "check character 'Y'")

    def test_points_legacy_numbers_to_the_upgrade(self):
        assert_refused(PRCResidentID.parse, "440305850312123", "from_legacy")

    def test_upgrades_legacy_numbers(self):
        upgraded = PRCResidentID.from_legacy("440305850312123", today=TODAY)
        assert str(upgraded) == "440305198503121231"

    def test_refuses_malformed_legacy_numbers(self):
        assert_refused(PRCResidentID.from_legacy, "44030585031212", "15 digits")

    def test_repr_masks_the_number(self):
        assert "440305198503121231" not in repr(PRCResidentID.parse("440305198503121231"))

    @MODEST
    @given(prc_ids())
    def test_generated_numbers_round_trip(self, text):
        parsed = PRCResidentID.parse(text, today=TODAY)
        assert PRCResidentID.parse(str(parsed), today=TODAY) == parsed

    @MODEST
    @given(substitutions(prc_ids(), string.digits + "X"))
    def test_mod_11_2_detects_every_single_substitution(self, case):
        value, position, char = case
        changed = substitute(value, position, char)
        if position == 17:
            assert_refused(lambda t: PRCResidentID.parse(t, today=TODAY), changed)
        elif char != "X":
            # Every weight 2^k mod 11 is non-zero and digits differ by less than 11.
            assert prc_id_check_character(changed[:17]) != value[17]


class TestHKID:
    """An HKID carries a mod-11 check character over its letters and digits."""

    @pytest.mark.parametrize(
        "text", ["A123456(3)", "Z123456(1)", "AB987654(3)", "G123456(A)", "K234567(6)"]
    )
    def test_accepts_public_examples(self, text):
        assert str(HKID.parse(text)) == text

    @pytest.mark.parametrize(
        "text", ["A1234563", "A123456 3", "a123456（3）", "Ａ１２３４５６（３）", " A 123456 (3) "]
    )
    def test_accepts_written_variants(self, text):
        assert HKID.parse(text) == HKID("A1234563")

    @pytest.mark.parametrize(("text", "prefix"), [("A123456(3)", "A"), ("AB987654(3)", "AB")])
    def test_exposes_the_prefix(self, text, prefix):
        assert HKID.parse(text).prefix == prefix

    def test_refuses_the_circulating_bad_example(self):
        assert_refused(HKID.parse, "Z123456(7)", "HKID", "expected 1 (HKID mod 11)")

    def test_prefix_letters_eleven_apart_share_a_check_character(self):
        # A, L and W are 10, 21 and 32: the scheme cannot tell them apart.
        assert {str(HKID.parse(f"{p}123456(3)")) for p in "ALW"} == {
            "A123456(3)",
            "L123456(3)",
            "W123456(3)",
        }

    def test_refuses_misplaced_brackets(self):
        assert_refused(HKID.parse, "A(123456)3", "brackets may enclose only the final character")

    def test_refuses_wrong_length(self):
        assert_refused(HKID.parse, "A12345(6)", "length is 7")

    def test_refuses_digits_in_the_prefix(self):
        assert_refused(HKID.parse, "1A123456(3)", "prefix 1A is not one or two letters")

    def test_refuses_letters_in_the_serial(self):
        assert_refused(HKID.parse, "AB12345X(6)", "serial 12345X is not six digits")

    def test_refuses_check_character_other_than_digit_or_a(self):
        assert_refused(HKID.parse, "A123456(B)", "check character 'B' is not 0-9 or A")

    def test_message_masks_the_number(self):
        message = assert_refused(HKID.parse, "A123456(4)")
        assert "123456" not in message

    @MODEST
    @given(hkids())
    def test_generated_numbers_round_trip(self, text):
        parsed = HKID.parse(text)
        assert parsed.value == text
        assert HKID.parse(str(parsed)) == parsed

    @MODEST
    @given(substitutions(hkids(), string.digits + string.ascii_uppercase))
    def test_detects_substitutions_except_letters_eleven_apart(self, case):
        value, position, char = case
        changed = substitute(value, position, char)
        letters = len(value) - 7
        if position == len(value) - 1:
            if char in "0123456789A":
                assert_refused(HKID.parse, changed, "HKID mod 11")
        elif position < letters and char.isalpha():
            blind = (alnum_value(char) - alnum_value(value[position])) % 11 == 0
            assert (hkid_check_character(changed[:-1]) == value[-1]) == blind
        elif position >= letters and char.isdigit():
            assert hkid_check_character(changed[:-1]) != value[-1]


class TestLEI:
    """An LEI carries ISO 7064 MOD 97-10 check digits."""

    @pytest.mark.parametrize(
        "text", ["506700GE1G29325QX363", "5493001KJTIIGC8Y1R12", "HWUPKR0MPOU8FGXBT394"]
    )
    def test_accepts_public_examples(self, text):
        assert LEI.parse(text.lower()).value == text

    def test_exposes_the_issuer_prefix(self):
        assert LEI.parse("506700GE1G29325QX363").lou_prefix == "5067"

    def test_refuses_wrong_check_digits(self):
        assert_refused(LEI.parse, "506700GE1G29325QX364", "expected 63 (ISO 7064 MOD 97-10)")

    def test_refuses_letters_in_the_check_digits(self):
        assert_refused(LEI.parse, "506700GE1G29325QX3A3", "check digits A3")

    def test_refuses_punctuation(self):
        assert_refused(LEI.parse, "506700GE1G29325QX.63", "character '.' at position 18")

    def test_refuses_wrong_length(self):
        assert_refused(LEI.parse, "506700GE1G29325QX36", "length is 19, expected 20")

    def test_a_digit_letter_swap_can_escape_the_check(self):
        # A letter reads as two digits, so a digit-for-letter change also shifts the prefix;
        # about 1 in 97 such changes keeps the remainder. This one is found by search.
        assert LEI.parse("5Z6700GE1G29325QX363")

    def test_check_function_refuses_malformed_bodies(self):
        with pytest.raises(InvalidIdentifier, match="18 characters"):
            lei_check_digits("5067")

    @MODEST
    @given(leis())
    def test_generated_codes_round_trip(self, text):
        assert str(LEI.parse(text)) == text

    @MODEST
    @given(substitutions(leis(), ALNUM))
    def test_detects_every_same_class_substitution(self, case):
        value, position, char = case
        if char.isdigit() != value[position].isdigit():
            return
        # Within a class the expanded digit string keeps its layout and one value moves by
        # less than 97, which the prime modulus always sees.
        assert_refused(LEI.parse, substitute(value, position, char), "LEI")


class TestBankCardNumber:
    """A card number is 12-19 digits ending in a Luhn check digit."""

    @pytest.mark.parametrize("text", ["6200000000000005", "6205 5000 0000 0000 004"])
    def test_accepts_unionpay_test_numbers(self, text):
        assert BankCardNumber.parse(text).is_unionpay

    def test_accepts_other_networks_without_calling_them_unionpay(self):
        assert not BankCardNumber.parse("4111-1111-1111-1111").is_unionpay

    def test_refuses_wrong_check_digit(self):
        message = assert_refused(
            BankCardNumber.parse, "6200000000000006", "check digit is 6, expected 5 (Luhn"
        )
        assert "6200000000000006" not in message

    def test_refuses_letters(self):
        assert_refused(BankCardNumber.parse, "62000000000000O5", "not all digits")

    def test_refuses_wrong_length(self):
        assert_refused(BankCardNumber.parse, "62000000005", "length is 11, expected 12-19")

    def test_check_function_refuses_non_digits(self):
        with pytest.raises(InvalidIdentifier, match="0-9"):
            luhn_check_digit("62A")

    @MODEST
    @given(unionpay_cards())
    def test_generated_numbers_round_trip(self, text):
        card = BankCardNumber.parse(text)
        assert card.is_unionpay
        assert BankCardNumber.parse(str(card)) == card

    @MODEST
    @given(substitutions(unionpay_cards(), string.digits))
    def test_luhn_detects_every_single_substitution(self, case):
        value, position, char = case
        assert_refused(BankCardNumber.parse, substitute(value, position, char), "Luhn")


# -- kinds without a public check character -------------------------------------------------


class TestHKBRN:
    """A BRN is eight digits with no public check character."""

    def test_accepts_full_width_digits_and_separators(self):
        assert HKBRN.parse("１２３４-５６７８") == HKBRN("12345678")

    def test_refuses_wrong_length(self):
        assert_refused(HKBRN.parse, "1234567", "HK BRN", "length is 7, expected 8")

    def test_refuses_dummy_numbers(self):
        assert_refused(HKBRN.parse, "C0012345", "dummy BRN")

    def test_refuses_letters(self):
        assert_refused(HKBRN.parse, "1234567A", "not eight digits")


class TestHKBRCertificateNumber:
    """A certificate number carries the BRN, branch, month, year and a final character."""

    def test_splits_out_the_brn_and_branch(self):
        certificate = HKBRCertificateNumber.parse("12345678-001-05-24-A")
        assert certificate.brn == HKBRN("12345678")
        assert certificate.branch == "001"
        assert str(certificate) == "12345678-001-05-24-A"

    def test_refuses_wrong_length(self):
        assert_refused(HKBRCertificateNumber.parse, "12345678-000", "expected 16")

    def test_refuses_letters_in_numeric_fields(self):
        assert_refused(HKBRCertificateNumber.parse, "12345678-00A-05-24-A", "not all digits")

    def test_refuses_impossible_month(self):
        assert_refused(HKBRCertificateNumber.parse, "12345678-000-13-24-A", "month 13")

    def test_refuses_punctuation_as_final_character(self):
        assert_refused(HKBRCertificateNumber.parse, "12345678-000-05-24-.", "final character")


class TestMacaoID:
    """A Macao resident ID is eight digits beginning 1, 5 or 7."""

    @pytest.mark.parametrize("text", ["1/234567/8", "1234567(8)", "12345678", "1234567（8）"])
    def test_accepts_written_variants(self, text):
        parsed = MacaoID.parse(text)
        assert parsed.value == "12345678"
        assert str(parsed) == "1234567(8)"

    def test_refuses_unknown_leading_digit(self):
        assert_refused(MacaoID.parse, "3234567(8)", "first digit 3 is not 1, 5 or 7")

    def test_refuses_misplaced_slashes(self):
        assert_refused(MacaoID.parse, "12/34567/8", "slashes")

    def test_refuses_misplaced_brackets(self):
        assert_refused(MacaoID.parse, "(1)2345678", "brackets")

    def test_refuses_wrong_length(self):
        assert_refused(MacaoID.parse, "1234567", "length is 7")

    def test_refuses_letters(self):
        assert_refused(MacaoID.parse, "1234567A", "not eight digits")


class TestMacaoRegistrationNumber:
    """A Macao commercial registration number is a sequential number of up to six digits."""

    @pytest.mark.parametrize("text", ["12345", "12345 (SO)", "12345SO", "１２３４５"])
    def test_accepts_written_variants(self, text):
        assert str(MacaoRegistrationNumber.parse(text)) == "12345"

    def test_refuses_non_numbers(self):
        assert_refused(MacaoRegistrationNumber.parse, "12A45", "not a number")

    def test_refuses_too_many_digits(self):
        assert_refused(MacaoRegistrationNumber.parse, "1234567", "more than 6 digits")

    def test_refuses_leading_zeros(self):
        assert_refused(MacaoRegistrationNumber.parse, "012345", "leading zeros")

    def test_refuses_empty_input(self):
        assert_refused(MacaoRegistrationNumber.parse, "(SO)", "empty")


class TestHomeReturnPermit:
    """A Home Return Permit number is H or M and ten digits, or eight on old booklets."""

    def test_accepts_card_numbers(self):
        permit = HomeReturnPermit.parse("H12345678 01")
        assert permit.region == "HK"
        assert permit.lifelong_number == "12345678"
        assert permit.issue_count == 1

    def test_accepts_booklet_numbers(self):
        permit = HomeReturnPermit.parse("m12345678")
        assert permit.region == "MO"
        assert permit.issue_count is None

    def test_refuses_other_prefixes(self):
        assert_refused(HomeReturnPermit.parse, "K1234567801", "not H (Hong Kong) or M (Macao)")

    def test_refuses_wrong_length(self):
        assert_refused(HomeReturnPermit.parse, "H123456780", "length is 10")

    def test_refuses_letters_after_the_prefix(self):
        assert_refused(HomeReturnPermit.parse, "H12345678A1", "not all digits")


class TestPRCPassportNumber:
    """A PRC passport number follows one of the E, E-letter or G series layouts."""

    @pytest.mark.parametrize("text", ["E12345678", "EA1234567", "G12345678"])
    def test_accepts_each_series(self, text):
        assert str(PRCPassportNumber.parse(text)) == text

    @pytest.mark.parametrize("text", ["EI1234567", "EO1234567", "GA1234567"])
    def test_refuses_unused_series_letters(self, text):
        assert_refused(PRCPassportNumber.parse, text, "fits neither")

    def test_refuses_other_prefixes(self):
        assert_refused(PRCPassportNumber.parse, "D12345678", "not E or G")

    def test_refuses_wrong_length(self):
        assert_refused(PRCPassportNumber.parse, "E1234567", "length is 8")

    def test_refuses_letters_in_the_serial(self):
        assert_refused(PRCPassportNumber.parse, "E1234567A", "not digits")


class TestHKSARPassportNumber:
    """An HKSAR passport number is H or K and eight digits."""

    @pytest.mark.parametrize("text", ["H12345678", "k12345678"])
    def test_accepts_both_prefixes(self, text):
        assert str(HKSARPassportNumber.parse(text)) == text.upper()

    def test_refuses_other_prefixes(self):
        assert_refused(HKSARPassportNumber.parse, "E12345678", "not H or K")

    def test_refuses_wrong_length(self):
        assert_refused(HKSARPassportNumber.parse, "H1234567", "length is 8")

    def test_refuses_letters_after_the_prefix(self):
        assert_refused(HKSARPassportNumber.parse, "H1234567A", "not all digits")


# -- shared behaviour -----------------------------------------------------------------------


ALL_KINDS = [
    (USCC, "USCC"),
    (OrganisationCode, "organisation code"),
    (PRCResidentID, "PRC resident ID"),
    (HKID, "HKID"),
    (HKBRN, "HK BRN"),
    (HKBRCertificateNumber, "HK BR certificate number"),
    (MacaoID, "Macao ID"),
    (MacaoRegistrationNumber, "Macao registration number"),
    (HomeReturnPermit, "Home Return Permit"),
    (PRCPassportNumber, "PRC passport number"),
    (HKSARPassportNumber, "HKSAR passport number"),
    (LEI, "LEI"),
    (BankCardNumber, "bank card number"),
]


class TestFastChecks:
    """The check functions and predicates the scanner runs on every candidate."""

    @MODEST
    @given(body=st.text(string.digits, min_size=17, max_size=17))
    def test_prc_id_check_is_the_weighted_sum(self, body):
        total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
        assert prc_id_check_character(body) == "10X98765432"[total % 11]

    @MODEST
    @given(body=st.text(USCC_ALPHABET, min_size=17, max_size=17))
    def test_uscc_check_is_the_weighted_sum(self, body):
        total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(body))
        assert uscc_check_character(body) == USCC_ALPHABET[-total % 31]

    @MODEST
    @given(body=st.text(string.digits, max_size=19))
    def test_luhn_check_is_the_doubled_sum(self, body):
        digits = [int(d) for d in reversed(body)]
        doubled = [2 * d - 9 * (d > 4) if i % 2 == 0 else d for i, d in enumerate(digits)]
        assert luhn_check_digit(body) == str(-sum(doubled) % 10)

    @pytest.mark.parametrize("char", ["I", "O", "S", "V", "Z", "a", "_", " ", "+", "٣"])
    def test_uscc_check_refuses_characters_outside_the_alphabet(self, char):
        with pytest.raises(InvalidIdentifier, match="outside the GB 32100 alphabet"):
            uscc_check_character("9144030" + char + "MA5G7K2P0")

    @MODEST
    @given(
        value=st.one_of(
            prc_ids(),
            prc_ids().map(lambda v: v[:-1] + ("X" if v[-1] != "X" else "0")),
            st.text(string.digits + "X", min_size=18, max_size=18),
            st.builds(
                lambda head, tail: head + tail,
                st.sampled_from(["110101", "440305", "810000", "990000", "440005"]),
                st.text(string.digits + "X", min_size=12, max_size=12),
            ),
        )
    )
    def test_prc_id_predicate_agrees_with_the_parser(self, value):
        assert identifiers.is_valid_prc_id(value) == accepted(PRCResidentID, value)

    @MODEST
    @given(
        value=st.one_of(
            usccs(),
            usccs().map(lambda v: v[:-1] + ("0" if v[-1] != "0" else "1")),
            st.text(USCC_ALPHABET + "IOSZ", min_size=18, max_size=18),
        )
    )
    def test_uscc_predicate_agrees_with_the_parser(self, value):
        assert identifiers.is_valid_uscc(value) == accepted(USCC, value)

    @pytest.mark.parametrize(
        ("value", "valid"),
        [
            ("110101200002291234", True),  # 29 February in a leap year
            ("110101190002291234", False),  # 1900 was not a leap year
            ("110101189912311234", False),  # before 1900
            ("110101200004311234", False),  # 31 April
        ],
    )
    def test_prc_id_predicate_reads_the_calendar(self, value, valid):
        value = value[:17] + prc_id_check_character(value[:17])
        assert identifiers.is_valid_prc_id(value) is valid
        assert accepted(PRCResidentID, value) is valid


def accepted(kind, value: str) -> bool:
    try:
        kind(value)
    except InvalidIdentifier:
        return False
    return True


class TestMessages:
    """Every refusal is one line that names the identifier kind."""

    @pytest.mark.parametrize(("kind", "name"), ALL_KINDS)
    def test_every_kind_refuses_blank_input_by_name(self, kind, name):
        assert_refused(kind.parse, " \u3000 ", f"{name}: empty")

    @pytest.mark.parametrize(
        ("check", "body", "reason"),
        [
            (organisation_code_check_character, "D214356", "body length"),
            (organisation_code_check_character, "D214356.", "other than 0-9 and A-Z"),
            (prc_id_check_character, "4403051985", "body length"),
            (prc_id_check_character, "4403051985031212A", "other than 0-9"),
            (hkid_check_character, "A12345", "body length"),
            (hkid_check_character, "A12345.", "other than 0-9 and A-Z"),
        ],
    )
    def test_check_functions_refuse_malformed_bodies(self, check, body, reason):
        with pytest.raises(InvalidIdentifier, match=reason):
            check(body)

    def test_long_input_is_cut(self):
        message = assert_refused(USCC.parse, "9" * 500, "USCC")
        assert len(message) < 120

    def test_unprintable_input_is_escaped(self):
        message = assert_refused(LEI.parse, "506700GE1G\x0029325QX36", "LEI")
        assert "\x00" not in message

    def test_non_ascii_digits_are_not_digits(self):
        # Arabic-Indic digits survive NFKC and satisfy str.isdigit, but are not ID digits.
        assert_refused(HKBRN.parse, "١٢٣٤٥٦٧٨", "not eight digits")


class TestPublicSurface:
    """The package exports exactly the identifier API."""

    def test_all_names_resolve(self):
        for name in identifiers.__all__:
            assert getattr(identifiers, name)
