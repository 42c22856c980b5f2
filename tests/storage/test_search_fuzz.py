"""No user query can break search: FTS5 syntax is always escaped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from storage import SQLiteStore, open_store
from storage._search import parse_query
from tests.storage.conftest import T0, article

_fts_noise = st.sampled_from(
    [
        '"',
        "'",
        "*",
        "^",
        "(",
        ")",
        ":",
        "-",
        "+",
        "NEAR",
        "AND",
        "OR",
        "NOT",
        " ",
        "%",
        "_",
        "\\",
        "ذكاء",
        "深度",
    ]
)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteStore]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "w.db"
    store = open_store(path)
    store.record_article(
        article("https://f.example/1", title="NEAR AND OR 深度求索 والذكاء"), [], {}, T0
    )
    yield store
    store.close()


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.lists(_fts_noise, max_size=8).map("".join)))
@example("00\x00")  # a NUL once ended the FTS5 query string early
def test_search_never_raises(shared_store: SQLiteStore, query: str) -> None:
    results = shared_store.search(query)
    assert len(results) <= 1
    if not parse_query(query):
        assert results == []


@given(st.text())
def test_parse_query_terms_have_no_quotes_or_padding(query: str) -> None:
    for group in parse_query(query):
        assert group
        for term in group:
            assert term and '"' not in term and term == term.strip()
