"""Turn a user's search words into safe SQL over the FTS5 trigram index of articles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TERM_RE = re.compile(r'"([^"]*)"|(\S+)')
_MIN_FTS_CHARS = 3  # the trigram tokenizer cannot match anything shorter


@dataclass(frozen=True, slots=True)
class SearchPlan:
    sql: str
    params: list[Any]


def parse_query(query: str) -> list[list[str]]:
    """Groups of terms: a result must contain every term of at least one group.

    Words and ``"quoted phrases"`` are terms; a bare ``OR`` separates groups; a bare ``AND``
    is ignored (it is implied); every other character is literal text.
    """
    groups: list[list[str]] = [[]]
    query = query.replace("\x00", " ")  # FTS5 reads its query as a C string
    for match in _TERM_RE.finditer(query):
        phrase, word = match.group(1), match.group(2)
        if word is not None:
            if word == "OR":
                groups.append([])
                continue
            if word == "AND":
                continue
            term = word.replace('"', "").strip()
        else:
            term = " ".join(phrase.split())
        if term:
            groups[-1].append(term)
    return [g for g in groups if g]


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def build_search(query: str, limit: int) -> SearchPlan | None:
    """SQL selecting matching ``articles`` rows, or ``None`` for a query without terms."""
    groups = parse_query(query)
    if not groups:
        return None
    if all(len(t) >= _MIN_FTS_CHARS for g in groups for t in g):
        expression = " OR ".join("(" + " ".join(_fts_phrase(t) for t in g) + ")" for g in groups)
        return SearchPlan(
            "SELECT a.* FROM articles a JOIN articles_fts ON articles_fts.rowid = a.id"
            " WHERE articles_fts MATCH ? ORDER BY articles_fts.rank, a.id DESC LIMIT ?",
            [expression, limit],
        )
    clauses: list[str] = []
    params: list[Any] = []
    for group in groups:
        conditions: list[str] = []
        for term in group:
            if len(term) >= _MIN_FTS_CHARS:
                conditions.append(
                    "a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"
                )
                params.append(_fts_phrase(term))
            else:
                conditions.append("(a.title LIKE ? ESCAPE '\\' OR a.text LIKE ? ESCAPE '\\')")
                params.extend([_like_pattern(term)] * 2)
        clauses.append("(" + " AND ".join(conditions) + ")")
    return SearchPlan(
        "SELECT a.* FROM articles a WHERE "
        + " OR ".join(clauses)
        + " ORDER BY a.first_seen_at DESC, a.id DESC LIMIT ?",
        [*params, limit],
    )
