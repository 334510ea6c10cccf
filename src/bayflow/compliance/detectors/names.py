"""Person names, offline: a Chinese surname list plus the cue words that announce a name.

No model is involved. A name is reported when a surname from :mod:`.surnames` is

- preceded by a label or role word (姓名, 联系人, 申請人, 持卡人, 法定代表人…), or
- followed by an honorific or title (先生, 女士, 小姐, 經理, 醫生…), or, in English,
- preceded by a title (Mr, Ms, Dr…) or a ``Name:`` label and written in romanised form.

The given name is one or two Chinese characters; a second character that commonly follows a
name in running text (的, 已, 身 as in 身份证…) ends the name after the first. Confidence is
the detector's own: strongest for a label and a common surname, lower for rarer surnames and
for romanised names, whose tokens are also ordinary words ("Man", "So", "Law").
"""

from __future__ import annotations

import re
from typing import Final

from bayflow.compliance.detectors import RawFinding
from bayflow.compliance.detectors.surnames import COMMON, COMPOUND, ROMANISED, SINGLE
from bayflow.compliance.entities import EntityType

__all__ = ["NameDetector"]

_SURNAME: Final = "(?:{}|[{}])".format(
    "|".join(sorted(COMPOUND, key=len, reverse=True)), "".join(sorted(SINGLE))
)
_HAN: Final = r"[\u4e00-\u9fff]"
_LABELS: Final = (
    "姓名",
    "名字",
    "聯絡人",
    "联络人",
    "联系人",
    "聯繫人",
    "申請人",
    "申请人",
    "借款人",
    "持卡人",
    "戶名",
    "户名",
    "收件人",
    "寄件人",
    "客戶",
    "客户",
    "法定代表人",
    "法人代表",
    "董事",
    "經辦人",
    "经办人",
    "簽署人",
    "签署人",
    "患者",
    "病人",
    "員工",
    "员工",
    "股东",
    "股東",
    "担保人",
    "擔保人",
    "受益人",
    "委托人",
    "委託人",
    "代理人",
    "负责人",
    "負責人",
)
_HONORIFICS: Final = (
    "先生",
    "女士",
    "小姐",
    "太太",
    "博士",
    "教授",
    "經理",
    "经理",
    "醫生",
    "医生",
    "律師",
    "律师",
    "老師",
    "老师",
    "同學",
    "同学",
    "總監",
    "总监",
    "主任",
    "董事長",
    "董事长",
)
# Characters that, in second given-name position, more often start the next word.
_STOPS: Final = frozenset(
    "的是在于於和与與及等为為已将將说說称稱签簽身电電手性年出住地联聯持证證号號卡账賬帳邮郵"
    "护護回来來通统統商银銀申借客向对對负負担擔任现現先女小太博教经經医醫律老同总總主董"
)
_ENGLISH_TITLES: Final = r"(?:Mr|Mrs|Ms|Miss|Mdm|Madam|Dr|Prof)\.?"
_ROMAN_WORD: Final = r"[A-Z][a-z]{1,7}"

_LABELLED: Final = re.compile(
    "(?:{})[:：\\s]{{0,3}}(?P<name>{}{}{{1,2}})".format("|".join(_LABELS), _SURNAME, _HAN)
)
_HONOURED: Final = re.compile(
    "(?P<name>{}{}{{1,2}}?)(?:{})".format(_SURNAME, _HAN, "|".join(_HONORIFICS))
)
_ENGLISH: Final = re.compile(
    rf"(?:(?<![A-Za-z]){_ENGLISH_TITLES}\s+|(?<![A-Za-z])Name\s*:\s*)"
    rf"(?P<name>{_ROMAN_WORD}(?:[ \-]{_ROMAN_WORD}){{1,2}})(?![A-Za-z])",
    re.IGNORECASE,
)

_LABELLED_COMMON: Final = 0.85
_HONOURED_COMMON: Final = 0.8
_RARE_PENALTY: Final = 0.15
_ENGLISH_CONFIDENCE: Final = 0.75


def _is_common(name: str) -> bool:
    return name[:2] in COMPOUND or name[0] in COMMON


def _surname_length(name: str) -> int:
    return 2 if name[:2] in COMPOUND else 1


class NameDetector:
    """Chinese and romanised Chinese person names near a cue."""

    types: frozenset[EntityType] = frozenset({EntityType.PERSON_NAME})

    def detect(
        self, text: str, enabled: frozenset[EntityType], hint: str, out: list[RawFinding]
    ) -> None:
        if EntityType.PERSON_NAME not in enabled:
            return
        seen: set[int] = set()
        for match in _LABELLED.finditer(text):
            start, end = match.span("name")
            name = match.group("name")
            if len(name) - _surname_length(name) == 2 and name[-1] in _STOPS:
                end -= 1
                name = name[:-1]
            seen.add(start)
            confidence = _LABELLED_COMMON - (0 if _is_common(name) else _RARE_PENALTY)
            out.append(RawFinding(EntityType.PERSON_NAME, start, end, confidence))
        for match in _HONOURED.finditer(text):
            start, end = match.span("name")
            if start in seen:
                continue
            name = match.group("name")
            confidence = _HONOURED_COMMON - (0 if _is_common(name) else _RARE_PENALTY)
            out.append(RawFinding(EntityType.PERSON_NAME, start, end, confidence))
        for match in _ENGLISH.finditer(text):
            start, end = match.span("name")
            tokens = re.split(r"[ \-]", match.group("name"))
            if tokens[0].capitalize() in ROMANISED or tokens[-1].capitalize() in ROMANISED:
                out.append(RawFinding(EntityType.PERSON_NAME, start, end, _ENGLISH_CONFIDENCE))
        if hint and _LABEL_HINT.search(hint):
            self._cells(text, seen, out)

    def _cells(self, text: str, seen: set[int], out: list[RawFinding]) -> None:
        """Whole lines under a name column or key: there the surname alone is the cue."""
        for match in _WHOLE_NAME.finditer(text):
            start, end = match.span("name")
            name = match.group("name")
            if start in seen:
                continue
            if name.isascii():
                tokens = re.split(r"[ \-]", name)
                if tokens[0] not in ROMANISED and tokens[-1] not in ROMANISED:
                    continue
            out.append(RawFinding(EntityType.PERSON_NAME, start, end, _LABELLED_COMMON))


_LABEL_HINT: Final = re.compile(
    r"姓名|名字|联系人|聯絡人|持卡人|户名|戶名|申请人|申請人|(?<![A-Za-z])name(?![a-z])",
    re.IGNORECASE,
)
_WHOLE_NAME: Final = re.compile(
    f"^[\\x1f \\t]*(?P<name>{_SURNAME}{_HAN}{{1,2}}|{_ROMAN_WORD}(?:[ \\-]{_ROMAN_WORD}){{1,2}})"
    "[ \\t]*$",
    re.MULTILINE,
)
