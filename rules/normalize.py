"""Text normalisation shared by patterns and documents, with a map back to the original text.

Every character is folded on its own (so the fold is a plain ``str.translate`` at C speed and the
normalised length of any prefix of the original is known): NFKD compatibility forms (full-width,
ligatures), Latin/Greek/Cyrillic accents and Arabic diacritics removed, case folding, Arabic
letter variants (alef/hamza forms, ``ى``→``ي``, ``ة``→``ه``, Persian ``ی``/``ک``), tatweel and
zero-width characters dropped, every decimal digit (Arabic-Indic, Persian, Devanagari, full-width)
to ASCII, every space to ``" "`` and every dash to ``"-"``. Folding is idempotent.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

# Combining marks that are dropped: Latin/Greek/Cyrillic accents and Arabic harakat. Others
# (kana dakuten, Indic vowel signs) carry meaning and are kept.
_DROP_RANGES = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E8),
    (0x06EA, 0x06ED),
    (0x08D3, 0x08FF),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)

_SPECIAL: dict[str, str] = {
    "\u0640": "",  # tatweel
    "\u0671": "\u0627",  # alef wasla
    "\u0672": "\u0627",
    "\u0673": "\u0627",
    "\u0675": "\u0627",
    "\u0649": "\u064a",  # alef maksura -> yeh
    "\u06cc": "\u064a",  # Persian yeh
    "\u06d0": "\u064a",
    "\u06d2": "\u064a",
    "\u0629": "\u0647",  # teh marbuta -> heh
    "\u06c0": "\u0647",
    "\u06c1": "\u0647",
    "\u06be": "\u0647",
    "\u06d5": "\u0647",
    "\u06a9": "\u0643",  # Persian keheh -> kaf
    "\u06aa": "\u0643",
    "\u066b": ".",  # Arabic decimal separator
    "\u066c": ",",  # Arabic thousands separator
    "\u060c": ",",  # Arabic comma
    "_": "-",
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "\u00ad": "",  # soft hyphen
}


def _dropped(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _DROP_RANGES)


def _fold_once(ch: str) -> str:
    if ch in _SPECIAL:
        return _SPECIAL[ch]
    cat = unicodedata.category(ch)
    if cat == "Nd":
        return str(unicodedata.decimal(ch))
    if cat in ("Zs", "Zl", "Zp", "Cc") and (ch.isspace() or cat != "Cc"):
        return " "
    if cat == "Pd" or ch == "\u2212":
        return "-"
    if cat == "Cf":
        return ""
    if cat == "Cs":  # lone surrogate: keep as is
        return ch
    s = unicodedata.normalize("NFKD", ch)
    s = "".join(c for c in s if not _dropped(c)).casefold()
    s = unicodedata.normalize("NFC", s)
    return "".join(_SPECIAL.get(c, c) for c in s)


def fold_char(ch: str) -> str:
    """The folded form of one character (a fixed point: folding it again changes nothing)."""
    out = _fold_once(ch)
    for _ in range(4):
        nxt = "".join(_fold_once(c) for c in out)
        if nxt == out:
            break
        out = nxt
    return out


class _FoldTable(dict[int, str]):
    """A lazily filled ``str.translate`` table: computes each code point's fold on first use."""

    def __missing__(self, cp: int) -> str:
        value = fold_char(chr(cp))
        self[cp] = value
        return value


_TABLE = _FoldTable()
for _cp in range(128):
    _TABLE[_cp]


def fold(text: str) -> str:
    """Normalise ``text`` for matching (idempotent; never raises on any ``str``)."""
    return text.translate(_TABLE)


_CHUNK = 256


@dataclass
class NormText:
    """A folded copy of ``original`` that can map positions back into the original text."""

    original: str
    text: str = ""
    _cum: list[int] = field(default_factory=list)  # folded length before each chunk
    _chunk_ends: dict[int, list[int]] = field(default_factory=dict)
    # Every ASCII character folds to exactly one character: positions map to themselves.
    _same_positions: bool = False

    def __post_init__(self) -> None:
        if not self.text:
            # Fold chunk by chunk: the same cost as one translate, and the chunk lengths are
            # the checkpoints that map folded positions back.
            orig = self.original
            if orig.isascii():
                self.text = orig.translate(_TABLE)
                self._same_positions = True
                return
            if len(orig) <= _CHUNK:
                self.text = orig.translate(_TABLE)
                self._cum = [0, len(self.text)]
                return
            parts = [orig[i : i + _CHUNK].translate(_TABLE) for i in range(0, len(orig), _CHUNK)]
            cum = [0]
            total = 0
            for part in parts:
                total += len(part)
                cum.append(total)
            self.text = "".join(parts)
            self._cum = cum

    def _checkpoints(self) -> list[int]:
        if not self._cum:
            cum = [0]
            total = 0
            orig = self.original
            for i in range(0, len(orig), _CHUNK):
                total += len(orig[i : i + _CHUNK].translate(_TABLE))
                cum.append(total)
            self._cum = cum
        return self._cum

    def _orig_index(self, pos: int) -> int:
        """Index of the original character whose fold contains folded position ``pos``."""
        if self._same_positions:
            return min(pos, len(self.original))
        cum = self._checkpoints()
        k = bisect_right(cum, pos) - 1
        k = min(k, len(cum) - 2) if len(cum) > 1 else 0
        base = k * _CHUNK
        ends = self._chunk_ends.get(k)
        if ends is None:
            # Folded end offset of each original character of the chunk (cached per chunk).
            chunk = self.original[base : base + _CHUNK]
            lengths = map(len, map(_TABLE.__getitem__, map(ord, chunk)))  # iterated in C
            ends = self._chunk_ends[k] = list(accumulate(lengths, initial=cum[k]))[1:]
        return min(base + bisect_right(ends, pos), len(self.original))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded span ``[start, end)`` to the original span covering it (with the
        dropped marks that follow its last character)."""
        o_start = self._orig_index(start)
        o_end = self._orig_index(end - 1) + 1 if end > start else o_start
        if self._same_positions:
            return o_start, o_end  # no ASCII character folds to nothing
        orig = self.original
        while o_end < len(orig) and _TABLE[ord(orig[o_end])] == "":
            o_end += 1
        return o_start, o_end

    def snippet(self, o_start: int, o_end: int, width: int = 60) -> str:
        """A short window of original text around an original span, on one line."""
        orig = self.original
        a = max(0, o_start - width)
        b = min(len(orig), o_end + width)
        if a > 0:
            sp = orig.find(" ", a, o_start)
            if sp != -1:
                a = sp + 1
        if b < len(orig):
            sp = orig.rfind(" ", o_end, b)
            if sp != -1:
                b = sp
        text = " ".join(orig[a:b].split())
        return ("…" if a > 0 else "") + text + ("…" if b < len(orig) else "")
