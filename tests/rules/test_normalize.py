"""Normalisation: folding rules, idempotence, offsets back into the original text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import Document, compile_rules, parse_rules
from rules.normalize import NormText, fold


def test_fold_examples() -> None:
    assert fold("Ｌｌａｍａ４") == "llama4"
    assert fold("LLaMA-4") == "llama-4"
    assert fold("Llama–4") == "llama-4"  # en dash
    assert fold("Dépenses") == "depenses"
    assert fold("أَحْمَد") == "احمد"  # diacritics and hamza forms
    assert fold("إ آ أ ٱ") == "ا ا ا ا"
    assert fold("مستشفى مدرسة") == "مستشفي مدرسه"
    assert fold("یک کتاب") == fold("يك كتاب")  # Persian yeh / keheh
    assert fold("ديـــبسيك") == "ديبسيك"  # tatweel
    assert fold("Deep\u200bSeek\u200c") == "deepseek"  # zero-width characters
    assert fold("٦٠ ۶۰ ६० ６０") == "60 60 60 60"


@given(st.text())
@settings(max_examples=300)
def test_fold_is_idempotent_and_total(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


@given(st.text(), st.integers(0, 50), st.integers(0, 50))
@settings(max_examples=300)
def test_spans_map_back_into_original(text: str, a: int, b: int) -> None:
    nt = NormText(text)
    n = len(nt.text)
    if n == 0:
        return
    start = min(a, n - 1)
    end = min(max(start + 1, start + b), n)
    o_start, o_end = nt.span(start, end)
    assert 0 <= o_start <= o_end <= len(text)
    # The original span folds to a string containing the folded span.
    assert nt.text[start:end] in fold(text[o_start:o_end])


_RS = compile_rules(
    parse_rules(
        """
[[rule]]
id = "t"
terms = ["deepseek", "llama 4", "ديبسيك", "深度求索", "딥시크", "データ*", "*ausbau", "*seek*"]
""",
        "inline",
    )
)
_ALPHABET = st.sampled_from(
    list("DeepSeek llama 4 ديبسيك深度求索딥시크データ\u064e\u0640\u200c-_,.ＬＬＡＭＡ４é ßﬁAusbau")
)


@given(st.lists(_ALPHABET, max_size=60).map("".join))
@settings(max_examples=400)
def test_evidence_offsets_index_the_original(text: str) -> None:
    for m in _RS.match(Document(text=text, title=text[:10])):
        assert m.evidence
        for ev in m.evidence:
            source = text if ev.field == "text" else text[:10]
            assert source[ev.start : ev.end] == ev.text
            assert ev.text


@given(st.text(max_size=300))
@settings(max_examples=200)
def test_matching_never_crashes_on_any_unicode(text: str) -> None:
    _RS.match(Document(text=text, title=text[::-1]))
