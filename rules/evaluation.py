"""Precision, recall and F1 per rule on a labelled set, and the naive keyword baseline."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rules.engine import RuleSet
from rules.errors import RulesError
from rules.models import Document


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled example: a text (and optional title/language) and the rules it should hit."""

    text: str
    expect: frozenset[str]
    title: str = ""
    language: str | None = None
    line: int = 0


@dataclass
class RuleScore:
    rule: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[Case] = field(default_factory=list)  # expected, not found
    false_alarms: list[Case] = field(default_factory=list)  # found, not expected

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def parse_cases(lines: Iterable[str], origin: str = "<cases>") -> list[Case]:
    """Parse JSONL: ``{"text": ..., "expect": [...], "title"?: ..., "language"?: ...}``."""
    cases = []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RulesError(f"{origin}:{n}: not JSON: {exc}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise RulesError(f"{origin}:{n}: needs a string 'text'")
        expect = obj.get("expect", [])
        if not isinstance(expect, list) or not all(isinstance(e, str) for e in expect):
            raise RulesError(f"{origin}:{n}: 'expect' must be a list of rule ids")
        lang = obj.get("language")
        cases.append(
            Case(
                obj["text"],
                frozenset(expect),
                str(obj.get("title") or ""),
                lang if isinstance(lang, str) else None,
                n,
            )
        )
    return cases


Matcher = Callable[[Case], set[str]]


def ruleset_matcher(ruleset: RuleSet) -> Matcher:
    def run(case: Case) -> set[str]:
        doc = Document(text=case.text, title=case.title, language=case.language)
        return {m.rule for m in ruleset.match(doc)}

    return run


# The kind of filter feed readers offer: one case-insensitive keyword regex per rule.
NAIVE_PATTERNS: dict[str, str] = {
    "deepseek": r"deepseek|deep seek",
    "llama4": r"llama[ -]?4",
    "capex": r"capex|capital expenditure|data cent(?:er|re)s?.{0,60}\$\d|\$\d+ ?(?:billion|bn)",
}


def naive_matcher(patterns: dict[str, str] | None = None) -> Matcher:
    compiled = {r: re.compile(p, re.IGNORECASE) for r, p in (patterns or NAIVE_PATTERNS).items()}

    def run(case: Case) -> set[str]:
        text = f"{case.title}\n{case.text}"
        return {r for r, rx in compiled.items() if rx.search(text)}

    return run


def evaluate(cases: Sequence[Case], matcher: Matcher, rules: Sequence[str]) -> list[RuleScore]:
    """Score ``matcher`` on ``cases`` for each rule in ``rules``."""
    scores = {r: RuleScore(r) for r in rules}
    for case in cases:
        found = matcher(case)
        for r, s in scores.items():
            exp, got = r in case.expect, r in found
            if exp and got:
                s.tp += 1
            elif got:
                s.fp += 1
                s.false_alarms.append(case)
            elif exp:
                s.fn += 1
                s.misses.append(case)
    return list(scores.values())
