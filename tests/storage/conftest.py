"""Fixtures for the storage tests: a real SQLite file per test and record builders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rules.models import Evidence, RuleMatch
from storage import NewArticle, SourceDef, SQLiteStore, canonical_url, open_store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """A fixed instant ``minutes`` after T0 (tests never read the clock)."""
    return T0 + timedelta(minutes=minutes)


def body(seed: str, words: int = 60) -> str:
    """Invented article text, long enough for a content hash."""
    return " ".join(f"{seed}-{i}" for i in range(words)) + " DeepSeek ships a new model."


def article(
    url: str = "https://news.example/ai/deepseek-v4",
    source: str = "feed-a",
    *,
    title: str = "DeepSeek ships V4",
    text: str | None = None,
    guid: str | None = None,
) -> NewArticle:
    return NewArticle(
        url=url,
        canonical_url=canonical_url(url),
        source=source,
        title=title,
        text=body(url) if text is None else text,
        guid=guid,
        summary="summary",
        language="en",
    )


def match(rule: str = "deepseek", severity: str = "high", amount: float | None = None) -> RuleMatch:
    return RuleMatch(
        rule=rule,
        name=rule.title(),
        severity=severity,  # type: ignore[arg-type]
        tags=("china", "models"),
        evidence=(Evidence("title", 0, 8, "DeepSeek", "DeepSeek", "DeepSeek ships"),),
        amount_usd=amount,
        details=(("unit", "bn"),),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = open_store(tmp_path / "data" / "watcher.db")
    s.sync_sources(
        [
            SourceDef("feed-a", "https://a.example/feed.xml", "feed"),
            SourceDef("feed-b", "https://b.example/rss", "feed"),
        ],
        T0,
    )
    yield s
    s.close()
