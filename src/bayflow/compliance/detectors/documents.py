"""Identifiers that mix letters and digits: HKID, USCC, Home Return Permits, passports.

One regular expression finds the three shapes, in upper case as they are printed:

- ``A123456(3)``, ``AB9876543``: one or two letters, six digits and a check character, the
  brackets optional (full-width brackets are folded beforehand);
- a letter or two and seven to ten digits: Home Return Permits (``H``/``M`` and ten digits on
  the card, eight on old booklets), PRC passports (``E`` and eight digits, ``E`` and a letter
  and seven digits, the older ``G``), HKSAR passports (``H``/``K`` and eight digits);
- eighteen characters of the GB 32100 alphabet: a USCC. Those that start with a digit are
  found by the number detector's pattern, which stops at every digit anyway, and checked by
  :func:`uscc_finding` here; this pattern then stops only at capital letters.

HKID and USCC carry check characters, and a candidate that fails them is dropped. The travel
documents carry none: their shapes are distinctive enough to report a ten-digit permit or a
passport under its cue word, and ``H12345678``, which may be a booklet permit or an HKSAR
passport, is decided by the cue alone.
"""

from __future__ import annotations

import re
from typing import Final

from bayflow.compliance.detectors import RawFinding
from bayflow.compliance.detectors.context import Cue, Cues
from bayflow.compliance.entities import EntityType
from bayflow.compliance.identifiers import hkid_check_character, is_valid_uscc

__all__ = ["DocumentDetector", "uscc_finding"]

_E = EntityType

_DOCUMENT: Final = re.compile(
    r"""
    # A leading character class lets the regex engine skip ahead to the next capital
    # letter. USCCs that start with a digit are found by the number detector, which stops
    # at every digit anyway. Digits are ASCII; other scripts' digits still join a word.
    [A-Z](?<![\dA-Za-z][A-Z])
    (?:
        (?P<hkid>[A-Z]?[0-9]{6})\s?(?:\((?P<bracketed>[0-9A])\)|(?P<check>[0-9A]))
      | (?P<travel>[A-Z]?[0-9]{7,10})
      | (?P<uscc>[0-9A-HJ-NP-RTUW-Y]{17})
    )
    (?![\dA-Za-z])
    """,
    re.VERBOSE,
)
_PRC_PASSPORT: Final = re.compile(r"E\d{8}|E[A-HJ-NP-Z]\d{7}|G\d{8}")
_HK_PASSPORT: Final = re.compile(r"[HK]\d{8}")
_PERMIT_CARD: Final = re.compile(r"[HM]\d{10}")
_PERMIT_BOOKLET: Final = re.compile(r"[HM]\d{8}")

_CHECKED_IN_CONTEXT: Final = 0.99
_CHECKED: Final = 0.9
_CHECKED_BARE: Final = 0.85
_CONTEXT: Final = 0.85
_FORM: Final = 0.6
_BARE: Final = 0.3


class DocumentDetector:
    """HKIDs, USCCs, Home Return Permits and passports."""

    types: frozenset[EntityType] = frozenset(
        {_E.HK_ID, _E.CN_USCC, _E.HK_MO_TRAVEL_PERMIT, _E.PASSPORT}
    )

    def detect(
        self, text: str, enabled: frozenset[EntityType], hint: str, out: list[RawFinding]
    ) -> None:
        cues = Cues(text, hint)
        for match in _DOCUMENT.finditer(text):
            start, end = match.span()
            form = match.lastgroup  # the named group that closed last: which branch matched
            if form == "uscc":
                found = uscc_finding(cues, start, end) if _E.CN_USCC in enabled else None
            elif form == "travel":
                found = _travel(cues, start, end, enabled)
            else:
                # "EA1234567" has the shape of a two-letter HKID and of a PRC passport.
                found = _hkid(cues, match, enabled)
                passport = (
                    match.group("check") is not None
                    and _PRC_PASSPORT.fullmatch(text, start, end) is not None
                )
                if passport and (found is None or cues.before(start) is Cue.PASSPORT):
                    found = _travel(cues, start, end, enabled)
            if found is not None:
                out.append(found)


def uscc_finding(cues: Cues, start: int, end: int) -> RawFinding | None:
    """A USCC candidate of 18 characters at ``start``: reported if every check holds."""
    value = cues.text[start:end]
    # All-digit codes are tried by the number detector, after the PRC resident ID. The
    # first character may lie outside the GB 32100 alphabet (I, O, S, V, Z): not a USCC.
    if value.isdigit() or not is_valid_uscc(value):
        return None
    confidence = _CHECKED_IN_CONTEXT if cues.before(start) is Cue.USCC else _CHECKED
    return RawFinding(_E.CN_USCC, start, end, confidence)


def _hkid(cues: Cues, match: re.Match[str], enabled: frozenset[EntityType]) -> RawFinding | None:
    if _E.HK_ID not in enabled:
        return None
    start, end = match.span()
    body = cues.text[start] + match.group("hkid")
    bracketed = match.group("bracketed")
    check = bracketed or match.group("check")
    if hkid_check_character(body) != check:
        return None
    if cues.before(start) in {Cue.HK_ID, Cue.ID}:
        confidence = _CHECKED_IN_CONTEXT
    else:
        confidence = _CHECKED if bracketed else _CHECKED_BARE
    return RawFinding(_E.HK_ID, start, end, confidence)


def _travel(cues: Cues, start: int, end: int, enabled: frozenset[EntityType]) -> RawFinding | None:
    value = cues.text[start:end]
    permit = _E.HK_MO_TRAVEL_PERMIT in enabled
    passport = _E.PASSPORT in enabled
    if _PERMIT_CARD.fullmatch(value):
        if not permit:
            return None
        confidence = _CONTEXT if cues.before(start) is Cue.PERMIT else _FORM
        return RawFinding(_E.HK_MO_TRAVEL_PERMIT, start, end, confidence)
    prc = _PRC_PASSPORT.fullmatch(value) is not None
    hksar = _HK_PASSPORT.fullmatch(value) is not None
    booklet = _PERMIT_BOOKLET.fullmatch(value) is not None
    if not (prc or hksar or booklet):
        return None
    cue = cues.before(start)
    if cue is Cue.PERMIT and booklet and permit:
        return RawFinding(_E.HK_MO_TRAVEL_PERMIT, start, end, _CONTEXT)
    if (prc or hksar) and passport:
        confidence = _CONTEXT if cue is Cue.PASSPORT else _BARE
        return RawFinding(_E.PASSPORT, start, end, confidence)
    return None
