"""Context cues: the words before a candidate that say what kind of number it is.

An eight-digit number may be a Hong Kong or Macao phone number, a Macao ID or a Hong Kong
business registration number; a letter and eight digits may be a passport or an old Home
Return Permit. The cue word written before the value decides, in Simplified Chinese,
Traditional Chinese, English or Portuguese. Cues also raise the confidence of identifiers that
carry a check character.

A cue counts when it stands right before the value, allowing what labels put between: spaces,
colons, brackets and words such as 號碼, 编号, No. or number (``身份证号码：``, ``HKID No. ``).
That is checked by one anchored match of the reversed words against the reversed text before
the candidate, a few microseconds per candidate, where a search of the whole window for ~150
words would cost ten times as much: Python's ``re`` has no multi-literal search.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from typing import Final

__all__ = ["Cue", "Cues", "cue_before", "hint_cue", "region_near"]

# How far back a cue (with what stands between it and the value) may reach, in characters.
WINDOW: Final = 32
# Region words ("香港", "Macau") may stand further away, e.g. at the start of an address line.
REGION_WINDOW: Final = 64


class Cue(StrEnum):
    """A kind of cue. ``ID`` is an identity document of unknown origin (身份证, ID No.)."""

    MO_ID = "MO_ID"
    HK_ID = "HK_ID"
    PERMIT = "PERMIT"
    PASSPORT = "PASSPORT"
    USCC = "USCC"
    BRN = "BRN"
    CARD = "CARD"
    PHONE = "PHONE"
    ID = "ID"


# The groups are tried in this order at each position, so the specific cues come before the
# generic identity-document words they contain ("澳門居民身份證" before "身份證").
_CUE_WORDS: Final[dict[Cue, tuple[str, ...]]] = {
    Cue.MO_ID: (
        "澳門居民身份證",
        "澳门居民身份证",
        "澳門身份證",
        "澳门身份证",
        "Bilhete de Identidade de Residente",
        "Macau Resident Identity Card",
        "Macao Resident Identity Card",
        "Macau ID",
        "Macao ID",
        "BIR",
    ),
    Cue.HK_ID: (
        "香港身份證",
        "香港身份证",
        "Hong Kong Identity Card",
        "HKID",
        "HK ID",
    ),
    Cue.PERMIT: (
        "港澳居民來往內地通行證",
        "港澳居民来往内地通行证",
        "來往內地通行證",
        "来往内地通行证",
        "回鄉證",
        "回乡证",
        "通行證",
        "通行证",
        "Home Return Permit",
        "Mainland Travel Permit",
        "travel permit",
        "permit",
    ),
    Cue.PASSPORT: ("護照", "护照", "passport"),
    Cue.USCC: (
        "統一社會信用代碼",
        "统一社会信用代码",
        "信用代碼",
        "信用代码",
        "Unified Social Credit Code",
        "USCC",
    ),
    Cue.BRN: (
        "商業登記證",
        "商业登记证",
        "商業登記",
        "商业登记",
        "Business Registration",
        "BR No",
        "BRN",
        "UBI",
    ),
    Cue.CARD: (
        "銀行卡",
        "银行卡",
        "信用卡",
        "借記卡",
        "借记卡",
        "卡號",
        "卡号",
        "賬號",
        "账号",
        "帳號",
        "card number",
        "card no",
        "account no",
        "card",
    ),
    Cue.PHONE: (
        "聯絡電話",
        "联系电话",
        "聯繫電話",
        "電話",
        "电话",
        "手機",
        "手机",
        "致電",
        "致电",
        "傳真",
        "传真",
        "熱線",
        "热线",
        "WhatsApp",
        "telephone",
        "phone",
        "mobile",
        "Tel",
        "Fax",
        "Mob",
    ),
    Cue.ID: (
        "公民身份號碼",
        "公民身份号码",
        "身份證",
        "身份证",
        "證件號",
        "证件号",
        "居住證",
        "居住证",
        "identity card",
        "ID card",
        "ID No",
        "ID number",
    ),
}


# What may stand between a cue and its value, reversed (the text is matched right to left).
_FILLER: Final = (
    r"(?:[\s:：#.()（）\[\]【】-]|碼號|码号|號編|号编|號|号|on|rebmun|為|为|是|的|ni|si)*"
)


def _trie(words: list[tuple[str, int]]) -> str:
    """A regular expression matching any of ``words``, factored by common prefix.

    Python's ``re`` tries the branches of an alternation one by one; factored by first
    character, each position costs one branch test instead of one per word. Each word ends
    in an empty group whose number (the ``int``) says which word matched.
    """
    ends = [group for word, group in words if not word]
    by_first: dict[str, list[tuple[str, int]]] = {}
    for word, group in words:
        if word:
            by_first.setdefault(word[0], []).append((word[1:], group))
    branches = [re.escape(first) + _trie(rest) for first, rest in by_first.items()]
    # A word that ends here is tried after the longer words that continue it.
    branches += [f"(?P<g{group}>)" for group in ends]
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


# Longest words first across all cues, so "ID card" wins over "card" and "香港身份證" over
# "身份證". English cues are matched in lower case and must not end a longer word ("tel" in
# "hotel"): in the reversed text, no letter may follow them.
_REVERSED_WORDS: Final = sorted(
    ((word, cue) for cue, words in _CUE_WORDS.items() for word in words),
    key=lambda item: len(item[0]),
    reverse=True,
)
_GROUP_CUE: Final = {f"g{index}": cue for index, (_, cue) in enumerate(_REVERSED_WORDS)}
_ENGLISH_GROUPS: Final = frozenset(
    f"g{index}" for index, (word, _) in enumerate(_REVERSED_WORDS) if word.isascii()
)
_REVERSED_CUES: Final = re.compile(
    _FILLER
    + _trie([(word.lower()[::-1], index) for index, (word, _) in enumerate(_REVERSED_WORDS)])
)


# Column headers and JSON keys are short: there a cue may stand anywhere ("HK mobile no.").
_ANYWHERE: Final = re.compile(
    "|".join(
        f"(?P<{cue.value}>{'|'.join(map(re.escape, sorted(words, key=len, reverse=True)))})"
        for cue, words in _CUE_WORDS.items()
    ),
    re.IGNORECASE,
)
_REGIONS: Final = re.compile(
    r"(?P<HK>香港|(?<![A-Za-z])(?:Hong\s?Kong|HKSAR|HK)(?![A-Za-z])|\+852)"
    r"|(?P<MO>澳門|澳门|(?<![A-Za-z])(?:Macau|Macao)(?![A-Za-z])|\+853)",
    re.IGNORECASE,
)


@lru_cache(maxsize=256)
def hint_cue(hint: str) -> Cue | None:
    """The cue a column header or JSON key gives every value under it."""
    found = None
    for found in _ANYWHERE.finditer(hint):  # noqa: B007 - the last cue is the nearest.
        pass
    return Cue(found.lastgroup) if found is not None and found.lastgroup else None


def cue_before(text: str, start: int, hint: str = "") -> Cue | None:
    """The cue right before ``start`` (see the module docstring), else the hint's cue."""
    return Cues(text, hint).before(start)


class Cues:
    """:func:`cue_before` and :func:`region_near` for one text, set up once per text."""

    __slots__ = ("_hint_cue", "hint", "text")

    def __init__(self, text: str, hint: str = "") -> None:
        self.text = text
        self.hint = hint
        self._hint_cue = hint_cue(hint) if hint else None

    def before(self, start: int) -> Cue | None:
        """The cue right before ``start``, else the hint's cue."""
        text = self.text
        window = (text[start - WINDOW : start] if start > WINDOW else text[:start]).lower()[::-1]
        found = _REVERSED_CUES.match(window)
        if found is not None and (group := found.lastgroup) is not None:
            end = found.end()
            if group not in _ENGLISH_GROUPS or end == len(window) or not window[end].isalpha():
                return _GROUP_CUE[group]
        return self._hint_cue

    def region_near(self, start: int, end: int) -> str | None:
        """``HK`` or ``MO`` when a region word stands nearby; see :func:`region_near`."""
        return region_near(self.text, start, end, self.hint)


def region_near(text: str, start: int, end: int, hint: str = "") -> str | None:
    """``HK`` or ``MO`` when a region word stands nearby (nearest before, then after)."""
    low = max(0, start - REGION_WINDOW)
    low = max(low, text.rfind("\x1f", low, start) + 1, text.rfind("\n", low, start) + 1)
    before = None
    for before in _REGIONS.finditer(text, low, start):  # noqa: B007
        pass
    high = min(len(text), end + WINDOW // 2)
    cell_end = text.find("\n\x1f", end, high)
    after = _REGIONS.search(text, end, high if cell_end == -1 else cell_end)
    if before is not None and (after is None or start - before.end() <= after.start() - end):
        return before.lastgroup
    if after is not None:
        return after.lastgroup
    if hint:
        found = _REGIONS.search(hint)
        if found is not None:
            return found.lastgroup
    return None
