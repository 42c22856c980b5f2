"""The scanner finds exactly what the simple reference scan (the former O(n^2) loop) finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.normalize import NormText, fold
from rules.scanner import (
    _CJK,
    _END_RX,
    _WORD_END,
    Scanner,
    Term,
    _arabic_prefixes,
    _script,
    _sep_positions,
    _trie_regex,
    term_key,
    term_variants,
    unit_seps,
)


def build_terms(written: list[str]) -> list[Term]:
    """Compiled terms with their variants, numbered like the engine numbers them."""
    terms: dict[tuple[tuple[str, ...], str, str], Term] = {}
    for w in written:
        for units, start, end in term_variants(w):
            if (units, start, end) not in terms:
                key = "".join(u for u in units if u != " ")
                seps = unit_seps(units)
                terms[(units, start, end)] = Term(len(terms), key, start, end, w, units, seps)
    return list(terms.values())


class ReferenceScanner:
    """The scan before the optimisation: one regex search per hit, then every end position
    of the hit re-keyed and looked up (quadratic in the hit's length)."""

    def __init__(self, terms: list[Term]) -> None:
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
        delim = f"[\\W_{_CJK}]"
        self._rxs: list[re.Pattern[str]] = []
        if latin:
            self._rxs.append(re.compile(f"{delim}(?P<t>{_trie_regex(latin)})"))
        if spaced:
            self._rxs.append(re.compile(f"{delim}(?:{prefixes})?(?P<t>{_trie_regex(spaced)})"))
        if cjk:
            self._rxs.append(re.compile(f"(?P<t>{_trie_regex(cjk)})"))
        self._infix = [t for t in terms if t.start == "infix"]

    def scan(self, text: str) -> list[tuple[Term, int, int]]:
        out: list[tuple[Term, int, int]] = []
        padded = " " + text
        for rx in self._rxs:
            self._scan(rx, padded, out)
        found = [(t, a - 1, b - 1) for t, a, b in out]
        for term in self._infix:
            i = text.find(term.key)
            while i != -1:
                j = i + len(term.key)
                if _END_RX[term.end].match(text, j):
                    found.append((term, i, j))
                i = text.find(term.key, i + 1)
        return found

    def _scan(self, rx: re.Pattern[str], text: str, out: list[tuple[Term, int, int]]) -> None:
        pos = 0
        while pos < len(text):
            m = rx.search(text, pos)
            if m is None:
                break
            a, b = m.span("t")
            group = _script(text[a])
            for end in range(b, a, -1):
                if text[end - 1] in " -":
                    continue
                for term in self._by_key.get(term_key(text[a:end]), []):
                    gaps = _sep_positions(text, a, end)
                    if gaps and not gaps <= term.seps:
                        continue
                    if term.start == group and _END_RX[term.end].match(text, end):
                        out.append((term, a, end))
            pos = a if m.start() < a else a + 1


# Terms from a tiny alphabet share prefixes, separators and letter/digit changes a lot.
_PIECE = st.text(alphabet="ab1", min_size=1, max_size=4)
_WRITTEN = st.builds(
    lambda pieces, seps, star: (
        ("*" if star == 1 else "")
        + "".join(p + s for p, s in zip(pieces, seps, strict=False)).strip(" -")
        + ("*" if star == 2 else "")
    ),
    st.lists(_PIECE, min_size=1, max_size=3),
    st.lists(st.sampled_from(["", " ", "-"]), min_size=3, max_size=3),
    st.integers(0, 4),
)
_TEXT = st.text(alphabet="ab1 -.,Ab\u00e9x2_", max_size=40)


@given(st.lists(_WRITTEN, min_size=1, max_size=8), st.lists(_TEXT, min_size=1, max_size=4))
@settings(max_examples=400, deadline=None)
def test_scan_matches_reference_on_overlapping_terms(written: list[str], texts: list[str]) -> None:
    terms = build_terms([w for w in written if w.strip("*")])
    if not terms:
        return
    fast, ref = Scanner(terms), ReferenceScanner(terms)
    for text in texts:
        folded = fold(text)
        assert fast.scan(folded) == ref.scan(folded)


# Real-looking terms in every script family the scanner handles differently.
_TERMS = [
    "DeepSeek",
    "Deep Seek",
    "deep",
    "Llama 4",
    "Llama 4 Scout",
    "Llama",
    "GPT-4.5",
    "A.I.",
    "AI",
    "chip*",
    "*ausbau",
    "*rechenzentr*",
    "ديبسيك",
    "الذكاء الاصطناعي",
    "مراكز البيانات",
    "深度求索",
    "数据中心",
    "データセンター",
    "データ*",
    "グーグル",
    "딥시크",
    "인공지능",
    "Клод",
    "डीपसीक",
]
_FRAGMENTS = st.sampled_from(
    [
        *_TERMS,
        *(t.upper() for t in _TERMS),
        "llama-4",
        "llama4",
        "deep-seek",
        "وال",
        "بال",
        "لل",
        "ها",
        "ات",
        "は",
        "の",
        "・",
        "ー",
        "는",
        "가",
        "-",
        " ",
        ".",
        ",",
        "_",
        "x",
        "4",
        "405b",
        "s",
        "ausbau",
        "\u064e",
        "\u200c",
    ]
)


@given(st.lists(_FRAGMENTS, max_size=14))
@settings(max_examples=400, deadline=None)
def test_scan_matches_reference_in_every_script(fragments: list[str]) -> None:
    terms = build_terms(_TERMS)
    text = fold("".join(fragments))
    assert Scanner(terms).scan(text) == ReferenceScanner(terms).scan(text)


def test_scan_examples() -> None:
    terms = build_terms(["Deep Seek", "DeepSeek", "Llama 4", "Llama", "*ausbau", "データ*"])
    scanner = Scanner(terms)
    found = [(t.source, a, b) for t, a, b in scanner.scan(fold("LLaMA-4 and deep seek; Ausbau"))]
    assert found == [
        ("Llama 4", 0, 7),
        ("Llama", 0, 5),
        ("Deep Seek", 12, 21),
        ("*ausbau", 23, 29),
    ]
    assert [t.source for t, _, _ in scanner.scan(fold("Llama 405B"))] == ["Llama"]
    assert [(t.source, a, b) for t, a, b in scanner.scan("データセンター")] == [("データ*", 0, 3)]


@given(st.characters())
def test_word_end_cache_agrees_with_the_regex(ch: str) -> None:
    assert _WORD_END[ch] == (_END_RX["word"].match(ch) is not None)


@given(st.text(alphabet=st.characters(max_codepoint=127)), st.integers(0, 60), st.integers(0, 60))
@settings(max_examples=300)
def test_ascii_positions_match_the_general_mapping(text: str, a: int, b: int) -> None:
    fast = NormText(text)
    general = NormText(text)
    general._same_positions = False  # the chunked offset tables
    start, end = min(a, b), max(a, b)
    assert fast.text == general.text
    assert fast.span(start, end) == general.span(start, end)


_ASCII_FRAGMENTS = st.one_of(
    st.sampled_from([t for t in _TERMS if t.isascii()] + ["llama-4", "LLaMA4", "405b", "ausbau"]),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=3),
)


@given(st.lists(_ASCII_FRAGMENTS, max_size=14))
@settings(max_examples=400, deadline=None)
def test_ascii_text_scan_matches_reference(fragments: list[str]) -> None:
    """ASCII text runs a pattern whose delimiter is ASCII ranges instead of the \\W category
    (every ASCII punctuation and control character included here): the same occurrences."""
    terms = build_terms(_TERMS)
    text = fold("".join(fragments))
    assert text.isascii()
    assert Scanner(terms).scan(text) == ReferenceScanner(terms).scan(text)
