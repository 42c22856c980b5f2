"""Plain data passed into and out of the rules engine (frozen, hashable, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Field = Literal["title", "text", "url", "source"]
Severity = Literal["low", "normal", "high"]


@dataclass(frozen=True, slots=True)
class Document:
    """One document to match: an article's title, body text and where it came from."""

    text: str
    title: str = ""
    url: str = ""
    source: str = ""
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a rule matched: a span of the *original* (not normalised) field text.

    ``document.<field>[start:end] == text`` always holds. ``term`` is the alias, keyword,
    pattern or amount that produced the span (as written in the rule), ``snippet`` is a short
    window of original text around the span for display.
    """

    field: Field
    start: int
    end: int
    text: str
    term: str
    snippet: str = ""


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that matched a document, with all of its evidence (at least one span)."""

    rule: str
    name: str
    severity: Severity
    tags: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    # Largest money amount found in support of the rule, normalised to USD (capex rules).
    amount_usd: float | None = None
    details: tuple[tuple[str, str], ...] = field(default_factory=tuple)
