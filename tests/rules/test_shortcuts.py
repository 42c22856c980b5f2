"""The per-document shortcuts of the matcher change no result: the same matches with the
general code path on generated documents made of the default rules' own terms."""

from __future__ import annotations

import copy
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import Document
from rules.engine import _EVALUATORS, RuleSet
from rules.spec import Node
from watcher.config import RulesConfig
from watcher.ruleload import load_ruleset

RULES = load_ruleset(RulesConfig())


def _general(rules: RuleSet) -> RuleSet:
    """A copy whose scanner runs the general patterns on ASCII text too."""
    general = copy.copy(rules)
    scanner = copy.copy(rules.scanner)
    scanner._rxs = [(g, rx, d, a, rx) for g, rx, d, a, _ in rules.scanner._rxs]
    general.scanner = scanner
    return general


GENERAL = _general(RULES)
_WORDS = sorted({t.source for t in RULES._terms.values() if t.source.isascii()})
_FILLER = [
    "the",
    "company",
    "said",
    "$40 billion",
    "10 billion dollars",
    "billion",
    "hundreds of billions of dollars",
    "2.5",
    "not",
    ",",
    ".",
    ";",
    "(",
    "_",
    "-",
    "'s",
    "~",
]
_PART = st.one_of(
    st.sampled_from(_WORDS),
    st.sampled_from(_FILLER),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=3),
)
_FIELD = st.lists(_PART, max_size=30).map(" ".join)


@given(_FIELD, _FIELD)
@settings(max_examples=300, deadline=None)
def test_ascii_scan_pattern_changes_no_match(title: str, text: str) -> None:
    doc = Document(text=text, title=title, url="https://example.org/a", source="src")
    assert RULES.match(doc) == GENERAL.match(doc)


def test_every_node_type_has_its_evaluation() -> None:
    assert set(_EVALUATORS) == set(get_args(Node))
