"""One combined scan for every alias and keyword of a rule set.

All terms are folded with :func:`rules.normalize.fold` and compiled into ONE regular expression
shaped as a trie (so the engine branches on characters instead of trying each alias in turn).
Boundaries depend on the script:

- Latin, Cyrillic, Greek, Devanagari, digits: the term may not touch another letter or digit of
  those scripts (``Llama 4`` is not found in ``Llama 405B``; CJK text may touch it).
- Arabic script: the same, but the attached prefixes ``و ف ب ك ل س ال لل`` (and their
  combinations) may precede the term.
- Han and hiragana: no boundary (no spaces between words). Hangul: a start boundary only
  (particles attach at the end). Katakana: not inside a longer katakana word.
- A term ending in ``*`` is a stem: no end boundary. A term starting with ``*`` has no start
  boundary (German compounds: ``*ausbau`` is in ``Rechenzentrumsausbau``).

Occurrences are the matched characters only; the engine extends a stem's evidence to the end
of its word.

Inside a term a space, a hyphen or a change between letters and digits is an optional
separator: ``llama 4`` finds ``Llama-4``, ``LLaMA 4`` and ``Llama4``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rules.normalize import fold

_CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005-\u3007"
_HANGUL = "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
# Katakana letters for the word boundary: not the middle dot "・" nor "゠", which separate words.
_KATAKANA = "\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff"
# A "word character" for Latin/Arabic boundaries: any letter or digit outside CJK and Hangul.
_W = rf"[^\W_{_CJK}{_HANGUL}]"
_W_OR_HANGUL = rf"[^\W_{_CJK}]"

_SEP = "[ \\-]?"

# Attached Arabic pronoun/plural suffixes allowed after an Arabic term.
_ARABIC_SUFFIX = "(?:هما|هم|ها|ه|نا|كم|ي|ات|ان|ين|ون)?"
END_ASSERT = {
    "word": f"(?!{_W})",
    "arabic": f"{_ARABIC_SUFFIX}(?!{_W})",
    "katakana": f"(?![{_KATAKANA}])",
    "none": "",
}
_END_RX = {k: re.compile(v) for k, v in END_ASSERT.items()}


class _WordEnd(dict[str, bool]):
    """Whether a word-class term may end before a character (filled on first use, like the
    fold table): the same answer as ``END_ASSERT["word"]``, without a regex call per end."""

    def __missing__(self, ch: str) -> bool:
        value = _END_RX["word"].match(ch) is not None
        self[ch] = value
        return value


_WORD_END = _WordEnd()


def _word_end(text: str, end: int) -> bool:
    return end >= len(text) or _WORD_END[text[end]]


def _end_check(end_class: str) -> Callable[[str, int], object]:
    """A term's end-boundary check ``(text, end) -> truthy``."""
    return _word_end if end_class == "word" else _END_RX[end_class].match


def _script(ch: str) -> str:
    cp = ord(ch)
    if 0x30A0 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF:
        return "katakana"
    if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
        return "hangul"
    if (
        0x3040 <= cp <= 0x309F
        or 0x3400 <= cp <= 0x4DBF
        or 0x4E00 <= cp <= 0x9FFF
        or 0xF900 <= cp <= 0xFAFF
        or 0x3005 <= cp <= 0x3007
    ):
        return "han"
    if 0x0600 <= cp <= 0x06FF or 0x0750 <= cp <= 0x077F or 0x08A0 <= cp <= 0x08FF:
        return "arabic"
    return "word"


def _kind(ch: str) -> str:
    if ch.isdigit():
        return "digit"
    if ch.isalpha():
        return "alpha:" + _script(ch)
    return "other"


def term_units(folded: str) -> list[str]:
    """Split a folded term into characters and optional separators (``" "``)."""
    units: list[str] = []
    for ch in folded:
        if ch in " -":
            if units and units[-1] != " ":
                units.append(" ")
            continue
        if units and units[-1] != " ":
            prev = units[-1]
            a, b = _kind(prev), _kind(ch)
            if a != b and "other" not in (a, b):
                units.append(" ")
        units.append(ch)
    while units and units[-1] == " ":
        units.pop()
    return units


def _sep_positions(text: str, a: int, b: int) -> frozenset[int]:
    """Key indices before which ``text[a:b]`` has a separator (space or hyphen)."""
    out = set()
    k = 0
    for ch in text[a:b]:
        if ch == " " or ch == "-":
            out.add(k)
        else:
            k += 1
    return frozenset(out)


def unit_seps(units: tuple[str, ...]) -> frozenset[int]:
    """Key indices before which a term has an optional separator."""
    out = set()
    k = 0
    for u in units:
        if u == " ":
            out.add(k)
        else:
            k += 1
    return frozenset(out)


def term_key(text: str) -> str:
    """The separator-free key of a folded term or a matched folded string."""
    return text.replace(" ", "").replace("-", "")


@dataclass(frozen=True, slots=True)
class Term:
    """A compiled term: its key, boundary classes and the spelling it came from."""

    id: int
    key: str
    start: str  # word | arabic | han | hangul | katakana
    end: str  # word | arabic | katakana | none
    source: str  # the term as written in the rule
    units: tuple[str, ...] = ()
    seps: frozenset[int] = frozenset()


# A key length and the terms of that key prefix: (term, its separators, its end check).
_Prefix = tuple[int, tuple[tuple[Term, frozenset[int], Callable[[str, int], object]], ...]]


def term_variants(source: str) -> list[tuple[tuple[str, ...], str, str]]:
    """``(units, start class, end class)`` of a written term and its automatic variants (an
    Arabic term starting with the article ``ال`` also matches after ``لل``). A leading ``*``
    (``*ausbau``) drops the start boundary: the term may end a compound word."""
    stem = source.endswith("*") and len(source.strip("*")) > 0
    infix = source.startswith("*")
    folded = fold(source.strip("*")).strip(" -")
    units = term_units(folded)
    if not units:
        return []
    start = "infix" if infix else _script(units[0])
    last = _script(units[-1])
    if stem or last in ("han", "hangul"):
        end = "none"
    elif last == "katakana":
        end = "katakana"
    elif last == "arabic":
        end = "arabic"
    else:
        end = "word"
    out = [(tuple(units), start, end)]
    if start == "infix":
        return [(tuple(u for u in units if u != " "), start, end)]
    if start == "arabic" and len(units) > 3 and units[0] == "ا" and units[1] == "ل":
        out.append((tuple(units[2:]), start, end))
    return out


def _arabic_prefixes() -> list[str]:
    out = {""}
    for a in ("", "و", "ف"):
        for b in ("", "ال", "بال", "كال", "لال", "سال", "لل", "ب", "ك", "ل", "س"):
            out.add(a + b)
    return sorted(out)


def _start_assertion(first: str) -> str:
    """Start-boundary assertion placed right AFTER a term's first character, so that the
    pattern begins with a literal and the regex engine can skip ahead on its first-char set."""
    if _script(first) == "katakana":
        return f"(?<![{_KATAKANA}].)"
    return ""


def _trie_regex(seqs: list[list[str]]) -> str:
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for seq in seqs:
        node = trie
        for unit in seq:
            node = node.setdefault(unit, {})
        node[""] = {}

    def emit(node: dict, depth: int) -> str:  # type: ignore[type-arg]
        alts = []
        for unit in sorted(k for k in node if k):
            head = _SEP if unit == " " else re.escape(unit)
            if depth == 0:
                head += _start_assertion(unit)
            alts.append(head + emit(node[unit], depth + 1))
        optional = "" in node
        if not alts:
            return ""
        if optional:  # an empty alternative, tried last (cheaper than a "?" repeat)
            return "(?:" + "|".join(alts) + "|)"
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(trie, 0)


class Scanner:
    """Finds every occurrence of a set of terms in folded text in one pass per script family.

    Terms starting with a letter or digit of a spaced script (Latin, Arabic, Hangul, ...) are
    one trie behind a start-of-word check (cheap to reject mid-word positions); terms starting
    with Han or kana are a second trie with no boundary, which the regex engine reaches by
    skipping on its first-character set.
    """

    def __init__(self, terms: list[Term]) -> None:
        self.terms = terms
        self._by_key: dict[str, list[Term]] = {}
        for t in terms:
            self._by_key.setdefault(t.key, []).append(t)
        latin = [list(t.units) for t in terms if t.start == "word" and t.units[0].isascii()]
        spaced = [
            list(t.units)
            for t in terms
            if t.start in ("word", "arabic", "hangul") and not t.units[0].isascii()
        ]
        cjk = [list(t.units) for t in terms if t.start in ("han", "katakana")]
        prefixes = "|".join(
            re.escape(p) for p in sorted(_arabic_prefixes(), key=len, reverse=True) if p
        )
        # (gate, pattern, delimited, ascii_start, ascii pattern): the pattern runs only when the
        # gate (a set of first characters, searched in C) finds something. Latin terms always
        # run. ASCII text runs the ascii pattern: the same with the delimiter as ASCII ranges,
        # which the regex engine tests per character faster than the \W category (the
        # delimiter search is most of a scan's time).
        self._rxs: list[tuple[re.Pattern[str] | None, re.Pattern[str], bool, bool, re.Pattern[str]]]
        self._rxs = []
        delim = f"[\\W_{_CJK}]"
        ascii_delim = "[^0-9A-Za-z]"  # = delim on ASCII text (\W there is [^0-9A-Za-z_])
        # A delimited pattern consumes the character before the term (a non-word or CJK
        # character; the regex engine jumps between such characters in C) and looks ahead for
        # the term, so that finditer goes on right after that character: the next occurrence
        # may start inside this one. ascii_start: whether a term of the pattern can start
        # with an ASCII character (if not, ASCII text skips the pattern).
        if latin:
            trie = _trie_regex(latin)
            rx = re.compile(f"{delim}(?=(?P<t>{trie}))")
            self._rxs.append((None, rx, True, True, re.compile(f"{ascii_delim}(?=(?P<t>{trie}))")))
        if spaced:
            gate = re.compile("[" + "".join(sorted({re.escape(u[0]) for u in spaced})) + "]")
            rx = re.compile(f"{delim}(?=(?:{prefixes})?(?P<t>{_trie_regex(spaced)}))")
            self._rxs.append((gate, rx, True, False, rx))  # (not run on ASCII text)
        if cjk:
            ascii_start = any(u[0].isascii() for u in cjk)
            rx = re.compile(f"(?P<t>{_trie_regex(cjk)})")
            self._rxs.append((None, rx, False, ascii_start, rx))
        # Terms inside compound words: found with plain substring search (str.find, in C);
        # rare words such as "investition" or "ausbau" cost next to nothing when absent.
        self._infix_checks = [(t, t.key, _END_RX[t.end].match) for t in terms if t.start == "infix"]
        # Per key: every prefix of it that is a key itself (longest first), with the terms of
        # that prefix whose start class is the script of the key's first character (a regex hit
        # always spells a whole key, so these are exactly the candidates ending inside it).
        self._prefixes: dict[str, tuple[_Prefix, ...]] = {}
        for key in self._by_key:
            group = _script(key[0])
            cands = []
            for n in range(len(key), 0, -1):
                same = tuple(t for t in self._by_key.get(key[:n], ()) if t.start == group)
                if same:
                    cands.append((n, tuple((t, t.seps, _end_check(t.end)) for t in same)))
            self._prefixes[key] = tuple(cands)

    def scan(self, text: str) -> list[tuple[Term, int, int]]:
        """``(term, start, end)`` for every occurrence in folded ``text``; at each start position
        every term that fits (longest first), overlapping occurrences included."""
        out: list[tuple[Term, int, int]] = []
        padded = " " + text  # so that a term at the very start has a character before it
        ascii_only = text.isascii()  # O(1) in CPython
        for gate, rx, delimited, ascii_start, ascii_rx in self._rxs:
            if ascii_only:
                if not ascii_start:
                    continue  # every term of this pattern starts with a non-ASCII character
                rx = ascii_rx
            if gate is None or gate.search(text):
                if delimited:
                    self._scan_delimited(rx, padded, out)
                else:
                    self._scan(rx, padded, out)
        for term, key, end_ok in self._infix_checks:
            i = text.find(key)
            while i != -1:
                j = i + len(key)
                if end_ok(text, j):
                    out.append((term, i, j))
                i = text.find(key, i + 1)
        return out

    def _scan_delimited(
        self, rx: re.Pattern[str], text: str, out: list[tuple[Term, int, int]]
    ) -> None:
        """Occurrences found by a delimited pattern in ``text`` (padded with one character:
        offsets in ``out`` are one less)."""
        prefixes = self._prefixes
        append = out.append
        word_end = _WORD_END
        n = len(text)
        for m in rx.finditer(text):
            a, b = m.span(1)  # the term: the only group
            seg = text[a:b]
            cands = prefixes.get(seg)
            if cands is None:
                self._scan_spaced(text, a, seg, out)
                continue
            # no separator inside the hit: key offsets are text offsets
            start = a - 1
            for size, terms in cands:
                end = a + size
                for term, _, end_ok in terms:
                    if end_ok is _word_end:  # inlined: most terms end at a word boundary
                        if end < n and not word_end[text[end]]:
                            continue
                    elif not end_ok(text, end):
                        continue
                    append((term, start, start + size))

    def _scan(self, rx: re.Pattern[str], text: str, out: list[tuple[Term, int, int]]) -> None:
        """The same for a pattern that starts with the term itself (searched again from the
        next character after each hit)."""
        prefixes = self._prefixes
        pos = 0
        n = len(text)
        while pos < n:
            m = rx.search(text, pos)
            if m is None:
                break
            a, b = m.span(1)
            seg = text[a:b]
            cands = prefixes.get(seg)
            if cands is not None:
                start = a - 1
                for size, terms in cands:
                    for term, _, end_ok in terms:
                        if end_ok(text, a + size):
                            out.append((term, start, start + size))
            else:
                self._scan_spaced(text, a, seg, out)
            pos = a + 1

    def _scan_spaced(self, text: str, a: int, seg: str, out: list[tuple[Term, int, int]]) -> None:
        """Candidates of a hit that contains separators (``llama-4``, ``deep seek``)."""
        gaps = _sep_positions(seg, 0, len(seg))
        for size, terms in self._prefixes[term_key(seg)]:
            inner = frozenset(k for k in gaps if k < size)
            end = a + size + len(inner)
            for term, seps, end_ok in terms:
                if inner and not inner <= seps:
                    continue  # "deep seek" is not the term "DeepSeek"
                if end_ok(text, end):
                    out.append((term, a - 1, end - 1))
