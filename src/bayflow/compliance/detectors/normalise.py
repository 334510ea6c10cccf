"""NFKC folding for detection, with a map from folded positions back to the original text.

Detectors read a folded copy of the text in which every character whose NFKC form carries an
ASCII letter, digit, space or identifier punctuation (``+ ( ) / . - @ _ #``) is replaced by
that form: full-width digits and letters, full-width brackets and ``＋ ＠``, the ideographic
space, circled and superscript digits, ligatures. Other characters are left alone, so the
full-width comma and colon that fill Chinese prose (boundaries whether folded or not) cost
nothing. For the characters a detector reads, this is exactly NFKC.

Most folds keep the length (``９`` becomes ``9``); the rest expand (``㈠`` becomes ``(一)``,
``ﬁ`` becomes ``fi``). :class:`FoldedText` records only the expansions, as anchors, and maps a
folded span to the smallest original span that produced it, so ``original[start:end]`` is
always the text a finding came from.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from typing import Final

__all__ = ["FoldedText", "fold"]

_READ_BY_DETECTORS: Final = re.compile(r"[0-9A-Za-z +()/.\-@_#]")
# Blocks searched for compatibility characters: the BMP, mathematical alphanumerics and
# enclosed alphanumerics. Other supplementary-plane characters are left as they are.
_SEARCHED: Final = (
    range(0x80, 0xD800),
    range(0xE000, 0x10000),
    range(0x1D400, 0x1D800),
    range(0x1F100, 0x1F250),
)
_BMP_END: Final = 0x10000


def _character_class(code_points: list[int]) -> str:
    ranges: list[list[int]] = []
    for code_point in code_points:
        if ranges and ranges[-1][1] == code_point - 1:
            ranges[-1][1] = code_point
        else:
            ranges.append([code_point, code_point])
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


@cache
def _foldable() -> tuple[re.Pattern[str], dict[str, str]]:
    """A pattern for runs of characters that may fold, and the folds.

    Built on first use from the running Python's Unicode database (about 20 ms). Python's re
    tests a character against a class of the Basic Multilingual Plane with a bitmap but
    walks a list of ranges for supplementary characters, ten times slower over any text: the
    class holds the foldable BMP characters and all supplementary ones in a single range,
    and :func:`fold` leaves those that have no fold (emoji) as they are. The pattern is
    spelt ``[c][c]*``, not ``[c]+``: re skips ahead to a pattern's leading class, but tries a
    leading repeat at every position.
    """
    folds: dict[str, str] = {}
    for block in _SEARCHED:
        for code_point in block:
            char = chr(code_point)
            folded = unicodedata.normalize("NFKC", char)
            if folded != char and _READ_BY_DETECTORS.search(folded):
                folds[char] = folded
    bmp = _character_class(sorted(ord(c) for c in folds if ord(c) < _BMP_END))
    members = f"[{bmp}{re.escape(chr(_BMP_END))}-{re.escape(chr(0x10FFFF))}]"
    return re.compile(f"{members}{members}*"), folds


def _folded_position(anchor: tuple[int, int, bool]) -> int:
    return anchor[0]


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A folded text and the anchors that map its positions to the original's.

    ``anchors`` is empty when every fold kept its length, the common case. Otherwise each
    anchor ``(folded, original, clamped)`` governs folded positions from ``folded`` up to the
    next anchor: ``clamped`` anchors cover the characters of one expansion, which all come
    from the single original character at ``original``.
    """

    text: str
    anchors: tuple[tuple[int, int, bool], ...] = ()

    def _position(self, index: int) -> int:
        if not self.anchors:
            return index
        at = bisect_right(self.anchors, index, key=_folded_position) - 1
        if at < 0:
            return index
        folded, original, clamped = self.anchors[at]
        return original if clamped else original + index - folded

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that folded into ``text[start:end]``."""
        if not self.anchors:
            return start, end
        first = self._position(start)
        return first, (self._position(end - 1) + 1 if end > start else first)


def fold(original: str) -> FoldedText:
    """Fold ``original`` for detection; see the module docstring for what changes."""
    if original.isascii():
        return FoldedText(original)
    pattern, folds = _foldable()
    pieces: list[str] = []
    anchors: list[tuple[int, int, bool]] = []
    copied = 0  # original characters consumed so far
    shift = 0  # folded length minus original length so far
    for run in pattern.finditer(original):
        run_start, run_end = run.span()
        pieces.append(original[copied:run_start])
        for offset, char in enumerate(run.group()):
            replacement = folds.get(char, char)
            pieces.append(replacement)
            if len(replacement) != 1:
                at = run_start + offset
                anchors.append((at + shift, at, True))
                shift += len(replacement) - 1
                anchors.append((at + 1 + shift, at + 1, False))
        copied = run_end
    if not pieces:
        return FoldedText(original)
    pieces.append(original[copied:])
    return FoldedText("".join(pieces), tuple(anchors))
