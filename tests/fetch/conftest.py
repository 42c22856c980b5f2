"""Helpers for the poll-engine tests: a config builder, a real SQLite store, a tiny ruleset."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from rules.models import Document, Evidence, RuleMatch
from watcher.config import Config, parse_config

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class KeywordRules:
    """A minimal stand-in for the rules engine (which is built separately): one rule per
    keyword, matched case-insensitively in the title and text, with evidence spans."""

    def __init__(self, rules: dict[str, str]) -> None:
        self.rules = {rid: re.compile(re.escape(word), re.I) for rid, word in rules.items()}

    def match(self, document: Document) -> Sequence[RuleMatch]:
        out = []
        for rid, pattern in self.rules.items():
            ev = []
            for field in ("title", "text"):
                value = getattr(document, field)
                m = pattern.search(value)
                if m:
                    ev.append(Evidence(field, m.start(), m.end(), m.group(0), pattern.pattern))  # type: ignore[arg-type]
            if ev:
                out.append(RuleMatch(rid, rid, "normal", (), tuple(ev)))
        return out


def make_config(tmp_path: Path, sources: list[dict[str, Any]], **fetch: Any) -> Config:
    data: dict[str, Any] = {
        "storage": {"path": str(tmp_path / "watcher.db")},
        "source": sources,
        "alert": [{"name": "log", "kind": "log"}],
        "fetch": {"timeout": "5s", "connect_timeout": "2s", "jitter": 0.0, **fetch},
    }
    return parse_config(data, path=None, env={})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    from storage.sqlite import open_store

    s = open_store(tmp_path / "watcher.db")
    yield s
    s.close()


@pytest.fixture
def rules() -> KeywordRules:
    return KeywordRules({"datacenter": "data center", "deepseek": "深度求索", "meta": "ميتا"})


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()
