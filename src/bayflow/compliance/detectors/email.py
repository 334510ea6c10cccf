"""E-mail addresses, internationalised ones included (RFC 5322 addr-spec, RFC 6531, IDNA).

Candidates start at each ``@`` (``str.find`` runs in C, and text holds few of them); the local
part is read leftwards and the domain rightwards with anchored regular expressions that admit
Unicode letters, so ``用户@例子.中国`` and ``josé@correo.mo`` are found as well as ASCII
addresses.

In unspaced Chinese text the address often touches the words around it ("请联系chen@bayline.cn
或致电"). Two rules cut it free: a local part that mixes Chinese characters and ASCII starts
after its last Chinese character, and a final domain label that runs on into Chinese text ends
where the script changes or, for an internationalised top-level domain, after the longest known
one (``.香港`` in ``info@公司.香港電話``). The domain of an address with non-ASCII characters
must then encode under IDNA; ASCII ones need only the regular expressions. (``email-validator``
agrees on the test corpus, at fifty times the cost, so it checks the tests, not the hot path.)
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from bayflow.compliance.detectors import RawFinding
from bayflow.compliance.entities import EntityType

__all__ = ["EmailDetector"]

_MAX_LOCAL: Final = 64
_MAX_DOMAIN: Final = 253
# Matched against the reversed text before the "@", so the local part is one anchored match.
_REVERSED_LOCAL: Final = re.compile(r"[\w!#$%&'*+/=?^`{|}~.\-]{1,64}")
_DOMAIN: Final = re.compile(r"(?:[^\W_](?:[\w\-]*[^\W_])?\.)+[^\W_](?:[\w\-]*[^\W_])?")
_CJK: Final = re.compile(r"[\u3000-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
_ASCII_TLD: Final = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9\-]{2,59}")
# Internationalised top-level domains delegated in Chinese script (IANA root zone).
_IDN_TLDS: Final = tuple(
    sorted(
        {
            "中国",
            "中國",
            "香港",
            "澳門",
            "澳门",
            "台湾",
            "台灣",
            "新加坡",
            "公司",
            "网络",
            "網絡",
            "在线",
            "在線",
            "集团",
            "集團",
            "商城",
            "商店",
            "商标",
            "网店",
            "网址",
            "网站",
            "中文网",
            "我爱你",
            "移动",
            "手机",
            "公益",
            "政务",
            "游戏",
            "企业",
            "娱乐",
            "时尚",
            "微博",
            "佛山",
            "广东",
            "信息",
            "健康",
            "购物",
            "餐厅",
            "慈善",
        },
        key=len,
        reverse=True,
    )
)
_ASCII_CONFIDENCE: Final = 0.95
_INTERNATIONAL_CONFIDENCE: Final = 0.9


def _trim_tld(label: str) -> str | None:
    """The top-level domain at the start of ``label``, or ``None`` if there is none."""
    if label.isascii():
        return label if _ASCII_TLD.fullmatch(label) else None
    if label[0].isascii():
        # An ASCII label running on into other script: "cn或致电" ends at "cn".
        ascii_part = label[: next(i for i, c in enumerate(label) if not c.isascii())]
        return ascii_part if _ASCII_TLD.fullmatch(ascii_part) else None
    for tld in _IDN_TLDS:
        if label.startswith(tld):
            return tld
    return label if len(label) <= 3 and label.isalpha() else None


@lru_cache(maxsize=1024)
def _encodes_under_idna(domain: str) -> bool:
    """IDNA 2003 via the codec Python ships: a label that cannot be encoded is no domain.

    About 20 µs a domain (email-validator's full IDNA 2008 check costs ~100 µs), and a text
    names the same few domains again and again: the answers are kept.
    """
    try:
        domain.encode("idna")
    except UnicodeError:
        return False
    return True


class EmailDetector:
    """E-mail addresses, ASCII and internationalised."""

    types: frozenset[EntityType] = frozenset({EntityType.EMAIL})

    def detect(
        self, text: str, enabled: frozenset[EntityType], hint: str, out: list[RawFinding]
    ) -> None:
        del hint  # an address needs no context
        if EntityType.EMAIL not in enabled:
            return
        at = text.find("@")
        while at != -1:
            found = self._at(text, at)
            if found is not None:
                out.append(found)
            at = text.find("@", at + 1)

    def _at(self, text: str, at: int) -> RawFinding | None:  # noqa: PLR0911 - a dispatch reads best as early returns.
        local_match = _REVERSED_LOCAL.match(text[max(0, at - _MAX_LOCAL) : at][::-1])
        domain_match = _DOMAIN.match(text, at + 1)
        if local_match is None or domain_match is None:
            return None
        local = local_match.group()[::-1]
        start = at - len(local)
        if _CJK.search(local) and not all(_CJK.match(c) for c in local):
            cut = max(m.end() for m in _CJK.finditer(local))
            start += cut
            local = local[cut:]
        while local.startswith("."):
            start, local = start + 1, local[1:]
        if not local or local.endswith(".") or ".." in local:
            return None
        domain = domain_match.group()
        head, _, last = domain.rpartition(".")
        tld = _trim_tld(last)
        if tld is None:
            return None
        domain = f"{head}.{tld}"
        if len(domain) > _MAX_DOMAIN:
            return None
        end = at + 1 + len(domain)
        address = text[start:end]
        if address.isascii():
            return RawFinding(EntityType.EMAIL, start, end, _ASCII_CONFIDENCE)
        if not _encodes_under_idna(domain):
            return None
        return RawFinding(EntityType.EMAIL, start, end, _INTERNATIONAL_CONFIDENCE)
