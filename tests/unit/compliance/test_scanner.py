from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayflow.compliance.detectors.normalise import fold
from bayflow.compliance.entities import SENSITIVITY, EntityType
from bayflow.compliance.evaluation import evaluate_documents, evaluate_tables
from bayflow.compliance.scanner import Scanner
from bayflow.compliance.sources import Format, scan_path
from bayflow.compliance.synthetic import SyntheticGenerator
from bayflow.errors import ConfigurationError

TODAY = date(2025, 6, 30)
E = EntityType
MODEST = settings(max_examples=40, deadline=None)


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(today=TODAY)


def found(scanner: Scanner, text: str) -> list[tuple[EntityType, str]]:
    return [(f.entity_type, f.text) for f in scanner.scan(text)]


class TestOffsets:
    """Findings index the original text exactly, whatever folding did."""

    @MODEST
    @given(seed=st.integers(0, 10_000))
    def test_every_finding_slices_the_original_text(self, seed: int) -> None:
        scanner = Scanner(today=TODAY)
        document = SyntheticGenerator(seed).document()
        for finding in scanner.scan(document.text):
            assert document.text[finding.start : finding.end] == finding.text

    @MODEST
    @given(
        prefix=st.text(max_size=20),
        suffix=st.text(max_size=20),
        noise=st.sampled_from(["㈠", "ﬁ", "①", "㍱", "ｶ", "（", "　"]),
    )
    def test_expanding_folds_before_an_identifier_keep_offsets(
        self, prefix: str, suffix: str, noise: str
    ) -> None:
        scanner = Scanner(today=TODAY)
        text = f"{prefix}{noise}身份证号440305198503121231已{noise}{suffix}"
        findings = [f for f in scanner.scan(text) if f.entity_type is E.PRC_RESIDENT_ID]
        assert [f.text for f in findings] == ["440305198503121231"]
        assert text[findings[0].start : findings[0].end] == findings[0].text

    def test_fold_maps_expansions_back_to_one_character(self) -> None:
        folded = fold("x㈠y９")
        assert folded.text == "x(一)y9"
        assert folded.original_span(1, 4) == (1, 2)
        assert folded.original_span(5, 6) == (3, 4)

    def test_fold_reads_supplementary_digits_and_keeps_emoji(self) -> None:
        assert fold("𝟗😀９").text == "9😀9"
        text = "😀身份证号４４０３０５１９８５０３１２１２３１"
        (finding,) = Scanner(today=TODAY).scan(text)
        assert text[finding.start : finding.end] == "４４０３０５１９８５０３１２１２３１"


class TestCJKBoundaries:
    """Identifiers touching Chinese characters are found without word boundaries."""

    def test_id_between_chinese_characters(self, scanner: Scanner) -> None:
        text = "身份证号440305198503121231已核实"
        assert found(scanner, text) == [(E.PRC_RESIDENT_ID, "440305198503121231")]

    def test_full_width_hkid_with_full_width_brackets(self, scanner: Scanner) -> None:
        text = "香港身份證號碼Ｋ２３４５６７（６）已核實"
        assert found(scanner, text) == [(E.HK_ID, "Ｋ２３４５６７（６）")]

    @pytest.mark.parametrize("written", ["A123456(3)", "A1234563", "A123456（3）", "AB987654(3)"])
    def test_hkid_written_forms(self, scanner: Scanner, written: str) -> None:
        assert found(scanner, f"HKID：{written}。") == [(E.HK_ID, written)]

    def test_uscc_and_email_inside_chinese(self, scanner: Scanner) -> None:
        text = "信用代码91440300MA5G7K2P0C，请联系chen@bayline.cn或致电"
        assert found(scanner, text) == [
            (E.CN_USCC, "91440300MA5G7K2P0C"),
            (E.EMAIL, "chen@bayline.cn"),
        ]

    def test_internationalised_emails(self, scanner: Scanner) -> None:
        text = "邮箱：用户@例子.中国，info@公司.香港電話"
        assert found(scanner, text) == [(E.EMAIL, "用户@例子.中国"), (E.EMAIL, "info@公司.香港")]

    def test_residence_permit_numbers_are_resident_ids(self, scanner: Scanner) -> None:
        assert found(scanner, "居住证810000199001011230。") == [
            (E.PRC_RESIDENT_ID, "810000199001011230")
        ]


class TestPhones:
    """Hong Kong and Macao numbers are told apart by country code and by context."""

    def test_country_codes_name_the_region(self, scanner: Scanner) -> None:
        findings = scanner.scan("Tel: +852 9123 4567; +853 6612 3456; +86 138 1234 5678")
        assert [(f.text, f.region) for f in findings] == [
            ("+852 9123 4567", "HK"),
            ("+853 6612 3456", "MO"),
            ("+86 138 1234 5678", "CN"),
        ]

    @pytest.mark.parametrize(
        ("text", "region"), [("澳門電話 6612 3456", "MO"), ("香港電話 6612 3456", "HK")]
    )
    def test_region_words_resolve_an_ambiguous_number(
        self, scanner: Scanner, text: str, region: str
    ) -> None:
        (finding,) = scanner.scan(text)
        assert (finding.entity_type, finding.region) == (E.PHONE, region)

    def test_an_ambiguous_number_without_region_keeps_both(self, scanner: Scanner) -> None:
        (finding,) = scanner.scan("電話 6612 3456")
        assert finding.region == "HK|MO"

    def test_bare_eight_digits_are_not_reported(self, scanner: Scanner) -> None:
        assert found(scanner, "金额12345678元") == []


class TestDecoys:
    """Near misses are not reported at the default threshold."""

    @pytest.mark.parametrize(
        "text",
        [
            "身份证号440305198503121232已核实",  # wrong check character
            "身份证号440305198513321231已核实",  # month 13, check recomputed below
            "HKID A123456(4)",  # wrong HKID check
            "信用代码91440300MA5G7K2P0D",  # wrong USCC check
        ],
    )
    def test_decoys_are_not_reported(self, scanner: Scanner, text: str) -> None:
        assert found(scanner, text) == []

    def test_a_card_failing_luhn_under_a_cue_is_low_confidence(self) -> None:
        text = "银行卡号6222021234567890124"
        assert found(Scanner(today=TODAY), text) == []
        low = Scanner(today=TODAY, min_confidence=0.2).scan(text)
        assert [(f.entity_type, f.confidence < 0.5) for f in low] == [(E.BANK_CARD, True)]

    def test_impossible_dates_fail_even_with_a_valid_check(self, scanner: Scanner) -> None:
        from bayflow.compliance.identifiers import prc_id_check_character  # noqa: PLC0415

        body = "44030519851332123"
        assert found(scanner, f"身份证号{body}{prc_id_check_character(body)}") == []


class TestRunsAndWords:
    """Where a candidate starts and ends: separators, long runs, other scripts' digits."""

    def test_other_scripts_digits_are_not_identifier_digits(self, scanner: Scanner) -> None:
        # Arabic-Indic digits survive NFKC; a number written with them is no identifier,
        # and one touching them is part of a longer word.
        arabic = "".join(chr(0x660 + int(d)) for d in "440305198503121231")
        assert found(scanner, f"身份证 {arabic}") == []
        assert found(scanner, "卡号 ٣6222021234567890128") == []
        assert found(scanner, "HKID A123456(3)") == [(E.HK_ID, "A123456(3)")]

    def test_runs_longer_than_23_digits_are_read_in_parts(self, scanner: Scanner) -> None:
        text = "身份证 0000 0000 440305198503121231 已核实"
        assert found(scanner, text) == [(E.PRC_RESIDENT_ID, "440305198503121231")]

    def test_a_slashed_macao_id_after_short_numbers(self, scanner: Scanner) -> None:
        # The ID's last digit starts no new candidate ("8-1 6486…" is no card).
        text = "474 8 1/234567/8-１ 64869８７8-９64306"
        assert [(f.entity_type, f.text) for f in scanner.scan(text, hint="Macau ID")] == [
            (E.MO_ID, "1/234567/8")
        ]

    @pytest.mark.parametrize("before", ["", "1234 ", "ID 0000-"])
    def test_a_uscc_of_digits_and_a_final_x(self, scanner: Scanner, before: str) -> None:
        assert found(scanner, f"{before}91440300374068122X。") == [
            (E.CN_USCC, "91440300374068122X")
        ]

    def test_usccs_starting_with_a_digit_or_a_letter(self, scanner: Scanner) -> None:
        text = "代码 91440300MA5G7K2P0C，N2440300MA5G7K2P0X"
        codes = [f.text for f in scanner.scan(text) if f.entity_type is E.CN_USCC]
        valid = [c for c in ("91440300MA5G7K2P0C", "N2440300MA5G7K2P0X") if is_uscc(c)]
        assert codes == valid


def is_uscc(value: str) -> bool:
    from bayflow.compliance.identifiers import is_valid_uscc  # noqa: PLC0415

    return is_valid_uscc(value)


class TestFindings:
    """Findings carry their legal classification."""

    def test_id_numbers_and_cards_are_gbt35273_sensitive(self, scanner: Scanner) -> None:
        text = "身份证号440305198503121231，卡号6222021234567890128"
        by_type = {f.entity_type: f.to_json() for f in scanner.scan(text)}
        assert by_type[E.PRC_RESIDENT_ID]["gbt35273_sensitive"] is True
        assert by_type[E.PRC_RESIDENT_ID]["pipl_art28"] == "specific-identity"
        assert by_type[E.BANK_CARD]["pipl_art28"] == "financial-account"

    def test_every_entity_type_has_a_classification(self) -> None:
        assert set(SENSITIVITY) == set(EntityType)

    def test_individual_business_usccs_are_potential_personal_information(self) -> None:
        from bayflow.compliance.identifiers import (  # noqa: PLC0415
            organisation_code_check_character,
            uscc_check_character,
        )

        body = "92440300" + "MA5G7K2P" + organisation_code_check_character("MA5G7K2P")
        scanner = Scanner(today=TODAY)
        (finding,) = scanner.scan(f"USCC {body}{uscc_check_character(body)}")
        assert finding.personal == "potential"

    def test_types_limit_the_detectors(self) -> None:
        scanner = Scanner([E.EMAIL], today=TODAY)
        assert found(scanner, "身份证号440305198503121231 a@b.cn") == [(E.EMAIL, "a@b.cn")]


class TestAccuracy:
    """The scanner meets the issue's F1 goals on fixed synthetic seeds."""

    @pytest.mark.parametrize("seed", [1, 2])
    def test_f1_goals_on_documents(self, seed: int) -> None:
        scanner = Scanner(today=TODAY)
        scores = evaluate_documents(scanner, SyntheticGenerator(seed).documents(400))
        for entity_type in (E.PRC_RESIDENT_ID, E.HK_ID, E.CN_USCC, E.EMAIL):
            assert scores[entity_type].f1 >= 0.97, entity_type
        for entity_type in (E.PHONE, E.BANK_CARD):
            assert scores[entity_type].f1 >= 0.9, entity_type

    def test_f1_goals_on_tables(self) -> None:
        generator = SyntheticGenerator(3)
        tables = [generator.table(60, language) for language in ("zh-Hans", "zh-Hant", "en")]
        scores = evaluate_tables(Scanner(today=TODAY), tables)
        for entity_type in (E.PRC_RESIDENT_ID, E.HK_ID, E.EMAIL):
            assert scores[entity_type].f1 >= 0.97, entity_type
        for entity_type in (E.PHONE, E.BANK_CARD):
            assert scores[entity_type].f1 >= 0.9, entity_type


class TestSources:
    """Files are scanned by format, with rows, columns and JSON paths."""

    def test_csv_findings_carry_row_and_column(self, tmp_path: Path) -> None:
        path = tmp_path / "people.csv"
        path.write_text("name,電話\n陳大文,9123 4567\n李小明,6612 3456\n", encoding="utf-8")
        findings = list(scan_path(Scanner(today=TODAY), path))
        phones = [(f.row, f.column, f.text) for f in findings if f.entity_type is E.PHONE]
        assert phones == [(0, "電話", "9123 4567"), (1, "電話", "6612 3456")]

    def test_json_findings_carry_paths(self, tmp_path: Path) -> None:
        path = tmp_path / "people.json"
        document = {"customers": [{"id": "440305198503121231", "card": 6222021234567890128}]}
        path.write_text(json.dumps(document), encoding="utf-8")
        findings = {f.path: f.entity_type for f in scan_path(Scanner(today=TODAY), path)}
        assert findings == {
            "$.customers[0].id": E.PRC_RESIDENT_ID,
            "$.customers[0].card": E.BANK_CARD,
        }

    def test_json_lines_rows_are_line_numbers(self, tmp_path: Path) -> None:
        path = tmp_path / "people.jsonl"
        path.write_text('{"a": 1}\n{"email": "x@bayline.cn"}\n', encoding="utf-8")
        (finding,) = scan_path(Scanner(today=TODAY), path)
        assert (finding.row, finding.path) == (1, "$.email")

    def test_text_offsets_span_the_whole_file(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.txt"
        text = "第一行\n身份证号440305198503121231\n"
        path.write_text(text, encoding="utf-8")
        (finding,) = scan_path(Scanner(today=TODAY), path)
        assert text[finding.start : finding.end] == "440305198503121231"

    def test_parquet_without_pyarrow_says_what_to_install(self, tmp_path: Path) -> None:
        if importlib.util.find_spec("pyarrow") is not None:
            pytest.skip("pyarrow is installed: the missing-dependency path cannot be shown")
        with pytest.raises(ConfigurationError, match="pip install pyarrow"):
            list(scan_path(Scanner(today=TODAY), tmp_path / "x.parquet", Format.PARQUET))

    def test_parquet_columns_are_scanned(self, tmp_path: Path) -> None:
        pytest.importorskip("pyarrow", reason="Parquet support needs pyarrow (optional)")
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415

        path = tmp_path / "people.parquet"
        pq.write_table(pa.table({"phone": ["+852 9123 4567"]}), path)
        (finding,) = scan_path(Scanner(today=TODAY), path)
        assert (finding.row, finding.column) == (0, "phone")
