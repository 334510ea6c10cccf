"""Labelled synthetic documents and tables for measuring the scanner.

:class:`SyntheticGenerator` writes short documents in Simplified Chinese, Traditional Chinese,
English or a mix (a language per sentence), with identifiers in the forms they take in real
text: cue words before them or none, full-width digits and brackets, grouped card numbers,
``+852``/``+853`` prefixes, Chinese characters touching the digits on both sides. Every
identifier it writes is valid under its check algorithm and recorded as a :class:`Label` with
its exact span. It also writes *decoys* that must not be reported and are not labelled: PRC IDs
with a wrong check character or an impossible birth date, HKIDs and USCCs with wrong check
characters, card numbers that fail Luhn, and the amounts, dates and order numbers of ordinary
business text.

Everything is drawn from one seeded :class:`random.Random`, so a seed names a corpus. The
values are random, not real people's: none is taken from any register.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from phonenumbers import PhoneMetadata

from bayflow.compliance.detectors.surnames import COMMON, COMPOUND
from bayflow.compliance.entities import EntityType
from bayflow.compliance.identifiers import (
    hkid_check_character,
    luhn_check_digit,
    organisation_code_check_character,
    prc_id_check_character,
    uscc_check_character,
)

__all__ = ["Document", "Label", "LabelledTable", "SyntheticGenerator"]

_E = EntityType
Language = str  # "zh-Hans", "zh-Hant", "en"
_LANGUAGES: Final = ("zh-Hans", "zh-Hant", "en")

_DIVISIONS: Final = (
    "440303",
    "440304",
    "440305",
    "440306",
    "440307",
    "440106",
    "440104",
    "440402",
    "440604",
    "441900",
    "442000",
    "440703",
    "441202",
    "441302",
    "110105",
    "310115",
    "810000",
    "820000",
)
_USCC_DIVISIONS: Final = ("440300", "440305", "440400", "440106", "441900", "442000")
_USCC_KINDS: Final = ("91", "91", "91", "92", "93", "12", "52", "31")
_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_GIVEN: Final = "伟娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国志文家俊嘉欣颖婷晓子轩浩宇"
_ROMAN_GIVEN: Final = ("Ka Ming", "Tai Man", "Siu Wai", "Wing Yan", "Chi Keung", "Mei Ling")
_ROMAN_SURNAMES: Final = ("Chan", "Wong", "Lee", "Cheung", "Lau", "Ng", "Leung", "Lam")
_ASCII_LOCAL: Final = ("chen.wei", "li.na", "wkm", "info", "finance", "a.wong", "ops", "hr2024")
_DOMAINS: Final = ("bayline.cn", "lionrock.com.hk", "163.com", "qq.com", "example.mo", "pr-e.cn")
_IDN_EMAILS: Final = ("用户@例子.中国", "陈伟@公司.香港", "josé@correo.mo", "李娜@湾线.中国")
_TODAY: Final = date(2025, 6, 30)

# Cue phrases written before a value, per entity type and language. "" means none.
_CUES: Final[dict[EntityType, dict[Language, tuple[str, ...]]]] = {
    _E.PRC_RESIDENT_ID: {
        "zh-Hans": ("身份证号", "公民身份号码：", "居民身份证 ", ""),
        "zh-Hant": ("身份證號碼：", "居住證 ", ""),
        "en": ("ID card No. ", "PRC ID number ", ""),
    },
    _E.HK_ID: {
        "zh-Hans": ("香港身份证", "香港身份证号码 "),
        "zh-Hant": ("香港身份證號碼：", "身份證 ", ""),
        "en": ("HKID ", "HK ID card no. ", ""),
    },
    _E.MO_ID: {
        "zh-Hans": ("澳门居民身份证 ",),
        "zh-Hant": ("澳門居民身份證：", "澳門身份證編號 "),
        "en": ("Macau ID ", "BIR no. "),
    },
    _E.HK_MO_TRAVEL_PERMIT: {
        "zh-Hans": ("回乡证号码", "港澳居民来往内地通行证 "),
        "zh-Hant": ("回鄉證：", "來往內地通行證號碼 "),
        "en": ("Home Return Permit ", "travel permit no. "),
    },
    _E.CN_USCC: {
        "zh-Hans": ("统一社会信用代码", "信用代码：", ""),
        "zh-Hant": ("統一社會信用代碼：",),
        "en": ("USCC ", "Unified Social Credit Code: "),
    },
    _E.HK_BRN: {
        "zh-Hans": ("商业登记号码 ",),
        "zh-Hant": ("商業登記號碼：", "商業登記證 "),
        "en": ("BR No. ", "BRN "),
    },
    _E.PHONE: {
        "zh-Hans": ("联系电话：", "手机", "电话 "),
        "zh-Hant": ("聯絡電話：", "電話 ", "手機"),
        "en": ("Tel: ", "phone ", "Mobile: "),
    },
    _E.BANK_CARD: {
        "zh-Hans": ("银行卡号", "卡号：", ""),
        "zh-Hant": ("銀行卡號碼：", "信用卡 "),
        "en": ("card number ", "Card no. ", ""),
    },
    _E.EMAIL: {
        "zh-Hans": ("邮箱：", "电子邮件 "),
        "zh-Hant": ("電郵：", "電子郵件 "),
        "en": ("email ", "E-mail: "),
    },
    _E.PASSPORT: {
        "zh-Hans": ("护照号码", "护照 "),
        "zh-Hant": ("護照號碼：", "特區護照 "),
        "en": ("passport ", "Passport No. "),
    },
}
_AFTER: Final[dict[Language, tuple[str, ...]]] = {
    "zh-Hans": ("已核实。", "，请妥善保管。", "。", "，已登记。"),
    "zh-Hant": ("，已核實。", "。", "，請妥善保管。"),
    "en": (" was verified. ", ". ", " is on file. "),
}
_FILLER: Final[dict[Language, tuple[str, ...]]] = {
    "zh-Hans": (
        "本合同自双方签字盖章之日起生效，有效期为三年。",
        "货款人民币1,280,000元已于2024-05-01支付。",
        "订单号20240501123456已发货，预计三日内送达。",
        "根据《个人信息保护法》第三十九条，需取得个人的单独同意。",
        "会议定于下午三点在前海办公室举行。",
        "发票代码044031900111，金额12345678元。",
    ),
    "zh-Hant": (
        "本公司將於下月起調整服務收費。",
        "貨款港幣350,000元已於2024年5月1日支付。",
        "請於十四日內回覆確認，逾期視作同意。",
        "倉庫位於葵涌貨櫃碼頭附近，面積約12000平方呎。",
        "參考編號 20240617-0042。",
    ),
    "en": (
        "The facility is reviewed every 12 months. ",
        "Invoice 2024-0042 totals HKD 1,250,000.00. ",
        "Please reply within 14 days. ",
        "Shipment 88001234567 left Yantian port on 2024-06-01. ",
        "The loan term is 36 months at 4.25% per annum. ",
    ),
}
_SEPARATOR: Final[dict[Language, str]] = {"zh-Hans": "", "zh-Hant": "", "en": " "}


@dataclass(frozen=True, slots=True)
class Label:
    """A ground-truth identifier at ``text[start:end]`` (or within a table cell)."""

    entity_type: EntityType
    start: int
    end: int
    row: int | None = None
    column: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    text: str
    labels: tuple[Label, ...]


@dataclass(frozen=True, slots=True)
class LabelledTable:
    """A table whose labels carry ``row`` and ``column`` and spans within the cell."""

    header: list[str]
    rows: list[list[str]]
    labels: tuple[Label, ...]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@dataclass(slots=True)
class _Builder:
    pieces: list[str] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    length: int = 0

    def add(self, text: str, entity_type: EntityType | None = None) -> None:
        if entity_type is not None:
            self.labels.append(Label(entity_type, self.length, self.length + len(text)))
        self.pieces.append(text)
        self.length += len(text)

    def build(self) -> Document:
        return Document("".join(self.pieces), tuple(self.labels))


class SyntheticGenerator:
    """Seeded labelled documents and tables; see the module docstring."""

    def __init__(self, seed: int, *, decoy_rate: float = 0.25, filler_rate: float = 0.3) -> None:
        # Seeded, reproducible test data; nothing here needs unpredictability.
        self._random = random.Random(seed)  # noqa: S311
        self.decoy_rate = decoy_rate
        self.filler_rate = filler_rate
        self._values: dict[EntityType, Callable[[Language], str]] = {
            _E.PRC_RESIDENT_ID: self._prc_id,
            _E.HK_ID: self._hkid,
            _E.MO_ID: self._moid,
            _E.HK_MO_TRAVEL_PERMIT: self._permit,
            _E.CN_USCC: lambda _: self.uscc_value(),
            _E.HK_BRN: lambda _: self._digits(8, first="123456789"),
            _E.PHONE: self._phone,
            _E.BANK_CARD: lambda _: self._card(),
            _E.EMAIL: self._email,
            _E.PASSPORT: self._passport,
        }

    # ---------------------------------------------------------------------------------------
    # Valid values.

    def _digits(self, count: int, first: str = "0123456789") -> str:
        rnd = self._random
        return rnd.choice(first) + "".join(rnd.choices("0123456789", k=count - 1))

    def prc_id_value(self) -> str:
        rnd = self._random
        born = date(1950, 1, 1) + timedelta(days=rnd.randrange(20000))
        body = f"{rnd.choice(_DIVISIONS)}{born:%Y%m%d}{self._digits(3)}"
        return body + prc_id_check_character(body)

    def _prc_id(self, _: Language) -> str:
        value = self.prc_id_value()
        return _fullwidth(value) if self._random.random() < 0.1 else value

    def hkid_value(self) -> str:
        rnd = self._random
        prefix = "".join(rnd.choices("ABCDEGHKMPRVWYZ", k=1 if rnd.random() < 0.85 else 2))
        body = prefix + self._digits(6)
        return body + hkid_check_character(body)

    def _hkid(self, _: Language) -> str:
        value = self.hkid_value()
        form = self._random.random()
        if form < 0.6:
            return f"{value[:-1]}({value[-1]})"
        if form < 0.8:
            return _fullwidth(f"{value[:-1]}({value[-1]})")
        return value

    def _moid(self, _: Language) -> str:
        value = self._digits(8, first="157")
        form = self._random.random()
        if form < 0.5:
            return f"{value[0]}/{value[1:7]}/{value[7]}"
        return f"{value[:7]}({value[7]})" if form < 0.8 else value

    def _permit(self, _: Language) -> str:
        return self._random.choice("HM") + self._digits(10)

    def uscc_value(self) -> str:
        rnd = self._random
        org = "".join(rnd.choices(_USCC_ALPHABET, k=8))
        body = rnd.choice(_USCC_KINDS) + rnd.choice(_USCC_DIVISIONS)
        body += org + organisation_code_check_character(org)
        return body + uscc_check_character(body)

    def _valid_phone(self, region: str, first: str, length: int) -> str:
        while True:
            number = self._digits(length, first=first)
            if _PHONE_PATTERNS[region].fullmatch(number):
                return number

    def _phone(self, language: Language) -> str:
        rnd = self._random
        kind = rnd.random()
        if kind < 0.35:
            number = self._valid_phone("HK", "23569", 8)
            return rnd.choice((f"+852 {number[:4]} {number[4:]}", f"{number[:4]} {number[4:]}"))
        if kind < 0.55:
            number = self._valid_phone("MO", "6", 8)
            return f"+853 {number[:4]} {number[4:]}" if language == "en" else f"(853) {number}"
        mobile = self._valid_phone("CN", "1", 11)
        return rnd.choice((mobile, f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}", f"+86 {mobile}"))

    def card_value(self) -> str:
        rnd = self._random
        prefix, length = rnd.choice((("62", 19), ("62", 16), ("4", 16), ("5", 16), ("6228", 19)))
        if prefix == "5":
            prefix += rnd.choice("12345")
        body = prefix + self._digits(length - len(prefix) - 1)
        return body + luhn_check_digit(body)

    def _card(self, value: str | None = None) -> str:
        value = value or self.card_value()
        if self._random.random() < 0.5:
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def _email(self, _: Language) -> str:
        rnd = self._random
        if rnd.random() < 0.15:
            return rnd.choice(_IDN_EMAILS)
        return f"{rnd.choice(_ASCII_LOCAL)}{rnd.randrange(100)}@{rnd.choice(_DOMAINS)}"

    def _passport(self, _: Language) -> str:
        rnd = self._random
        kind = rnd.random()
        if kind < 0.4:
            return "E" + self._digits(8)
        if kind < 0.6:
            return "E" + rnd.choice("ABCDEFGHJK") + self._digits(7)
        return "K" + self._digits(8)

    def name_value(self, language: Language) -> str:
        rnd = self._random
        if language == "en":
            return f"{rnd.choice(_ROMAN_SURNAMES)} {rnd.choice(_ROMAN_GIVEN)}"
        surname = rnd.choice(sorted(COMPOUND)) if rnd.random() < 0.05 else rnd.choice(_SURNAMES)
        return surname + "".join(rnd.choices(_GIVEN, k=rnd.choice((1, 2))))

    # ---------------------------------------------------------------------------------------
    # Decoys: values that look right and must not be reported.

    def _decoy(self) -> tuple[EntityType, str]:
        rnd = self._random
        kind = rnd.randrange(5)
        if kind == 0:
            value = self.prc_id_value()
            wrong = rnd.choice([c for c in "0123456789X" if c != value[-1]])
            return _E.PRC_RESIDENT_ID, value[:-1] + wrong
        if kind == 1:
            body = (
                f"{rnd.choice(_DIVISIONS)}1985{rnd.choice(('13', '00', '02'))}3{rnd.randrange(10)}"
            )
            body += self._digits(3)
            return _E.PRC_RESIDENT_ID, body + prc_id_check_character(body)
        if kind == 2:
            value = self.hkid_value()
            wrong = rnd.choice([c for c in "0123456789A" if c != value[-1]])
            return _E.HK_ID, f"{value[:-2]}{value[-2]}({wrong})"
        if kind == 3:
            value = self.uscc_value()
            wrong = rnd.choice([c for c in _USCC_ALPHABET if c != value[-1]])
            return _E.CN_USCC, value[:-1] + wrong
        value = self.card_value()
        wrong = str((int(value[-1]) + rnd.randrange(1, 10)) % 10)
        return _E.BANK_CARD, self._card(value[:-1] + wrong)

    # ---------------------------------------------------------------------------------------
    # Documents and tables.

    def _sentence(self, builder: _Builder, language: Language) -> None:
        rnd = self._random
        if rnd.random() < self.filler_rate:
            builder.add(rnd.choice(_FILLER[language]))
            return
        roll = rnd.random()
        if roll < self.decoy_rate:
            entity_type, value = self._decoy()
            builder.add(rnd.choice(_CUES[entity_type][language]))
            builder.add(value)
            builder.add(rnd.choice(_AFTER[language]))
            return
        if roll < 0.8:
            entity_type = rnd.choice(tuple(self._values))
            builder.add(rnd.choice(_CUES[entity_type][language]))
            builder.add(self._values[entity_type](language), entity_type)
            builder.add(rnd.choice(_AFTER[language]))
            return
        self._named(builder, language)

    def _named(self, builder: _Builder, language: Language) -> None:
        rnd = self._random
        name = self.name_value(language)
        if language == "en":
            builder.add(rnd.choice(("Mr ", "Ms ", "Name: ", "Dr. ")))
            builder.add(name, _E.PERSON_NAME)
            builder.add(" signed the agreement. ")
        elif rnd.random() < 0.5:
            builder.add(rnd.choice(("姓名：", "联系人", "申請人：", "持卡人")))
            builder.add(name, _E.PERSON_NAME)
            builder.add("，")
        else:
            builder.add("致")
            builder.add(name, _E.PERSON_NAME)
            builder.add(rnd.choice(("先生：", "女士：", "經理，")))

    def document(self, language: Language | None = None) -> Document:
        """One document of three to eight sentences; ``mixed`` when ``language`` is None."""
        rnd = self._random
        builder = _Builder()
        mixed = language is None and rnd.random() < 0.3
        chosen = language or rnd.choice(_LANGUAGES)
        for _ in range(rnd.randint(3, 8)):
            sentence_language = rnd.choice(_LANGUAGES) if mixed else chosen
            self._sentence(builder, sentence_language)
            builder.add(_SEPARATOR[sentence_language])
        builder.add("\n")
        return builder.build()

    def documents(self, count: int) -> Iterator[Document]:
        for _ in range(count):
            yield self.document()

    def corpus(self, min_bytes: int) -> Document:
        """Documents joined into one text of at least ``min_bytes`` UTF-8 bytes."""
        builder = _Builder()
        size = 0
        while size < min_bytes:
            document = self.document()
            base = builder.length
            builder.pieces.append(document.text)
            builder.length += len(document.text)
            builder.labels.extend(
                Label(label.entity_type, label.start + base, label.end + base)
                for label in document.labels
            )
            size += len(document.text.encode())
        return builder.build()

    def table(self, rows: int, language: Language = "zh-Hans") -> LabelledTable:
        """A customer table: one identifier per cell, headers as the only context."""
        headers = {
            "zh-Hans": ("姓名", "身份证号", "手机", "邮箱", "银行卡号", "备注"),
            "zh-Hant": ("姓名", "香港身份證", "電話", "電郵", "信用卡", "備註"),
            "en": ("Name", "ID No", "Phone", "Email", "Card number", "Notes"),
        }[language]
        kinds = (
            _E.PERSON_NAME,
            _E.HK_ID if language == "zh-Hant" else _E.PRC_RESIDENT_ID,
            _E.PHONE,
            _E.EMAIL,
            _E.BANK_CARD,
            None,
        )
        body: list[list[str]] = []
        labels: list[Label] = []
        for row in range(rows):
            cells = []
            for header, kind in zip(headers, kinds, strict=True):
                if kind is None:
                    cells.append(self._random.choice(_FILLER[language]))
                    continue
                value = (
                    self.name_value(language)
                    if kind is _E.PERSON_NAME
                    else self._values[kind](language)
                )
                cells.append(value)
                labels.append(Label(kind, 0, len(value), row, header))
            body.append(cells)
        return LabelledTable(list(headers), body, tuple(labels))


_SURNAMES: Final = tuple(sorted(COMMON))


def _personal_phone_pattern(region: str) -> re.Pattern[str]:
    metadata = PhoneMetadata.metadata_for_region(region)
    assert metadata is not None
    patterns = [
        d.national_number_pattern
        for d in (metadata.fixed_line, metadata.mobile)
        if d and d.national_number_pattern
    ]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Valid numbers by libphonenumber's metadata, drawn by rejection: fixed lines and mobiles.
_PHONE_PATTERNS: Final = {region: _personal_phone_pattern(region) for region in ("CN", "HK", "MO")}
