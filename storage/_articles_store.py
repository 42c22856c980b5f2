"""Storing articles of :class:`storage.sqlite.SQLiteStore`: deduplication, matches, alerts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rules.models import RuleMatch
from storage import _inserts
from storage._base import StoreBase, _guarded, in_lists
from storage._rows import dumps, iso, iso_or_none, str_tuple
from storage.errors import NotFoundError
from storage.models import ArticleOutcome, NewArticle
from storage.urls import content_hash, guid_is_global

# Where a stored article is found by a dedup key, in the order of precedence of
# ArticlesStore._find_duplicate: (key kind, table, article id column, key column); "u" is the
# canonical URL (an article's own, one a duplicate was seen under, an alias), "g" the GUID,
# "h" the content hash. The batch pre-check (_keys_present) looks in the same places.
_DEDUP_PLACES = (
    ("u", "articles", "id", "canonical_url"),
    ("u", "article_sources", "article_id", "canonical_url"),
    ("u", "article_urls", "article_id", "canonical_url"),
    ("g", "articles", "id", "guid"),
    ("h", "articles", "id", "content_hash"),
)


class ArticlesStore(StoreBase):
    """Known-article lookups and recording new articles (with their matches and alerts)."""

    # -- helpers ---------------------------------------------------------------------------
    def _find_duplicate(self, article: NewArticle, fingerprint: str) -> int | None:
        """Canonical URL first (an article's own, then one under which a duplicate was seen,
        then an alias such as a redirect's target: the order of :meth:`known_articles`), then
        GUID (a feed-local one only among the articles of the same source: see
        :func:`storage.urls.guid_is_global`), then content hash (each only when non-empty)."""
        parts: list[str] = []
        params: list[str] = []
        guid = article.guid or ""
        local = bool(guid) and not guid_is_global(guid)
        values = {"u": article.canonical_url, "g": guid, "h": fingerprint}
        for rank, (kind, table, id_column, column) in enumerate(_DEDUP_PLACES):
            value = values[kind]
            if value:
                scoped = " AND source = ?" if column == "guid" and local else ""
                parts.append(
                    f"SELECT * FROM (SELECT {id_column} AS id, {rank} AS r FROM {table}"
                    f" WHERE {column} = ?{scoped} ORDER BY {id_column} LIMIT 1)"
                )
                params.append(value)
                if scoped:
                    params.append(article.source)
        if not parts:
            return None
        row = self._conn.execute(
            " UNION ALL ".join(parts) + " ORDER BY r LIMIT 1", params
        ).fetchone()
        return None if row is None else int(row[0])

    def _add_source(
        self, article_id: int, source: str, url: str | None, now: datetime, canonical: str = ""
    ) -> None:
        conn = self._conn
        primary = self._scalar("SELECT source FROM articles WHERE id = ?", [article_id])
        if primary is None:
            raise NotFoundError(f"no article {article_id}")
        cur = conn.execute(
            "INSERT OR IGNORE INTO article_sources (article_id, source, url, canonical_url,"
            " first_seen_at) VALUES (?, ?, ?, ?, ?)",
            [article_id, source, url, canonical or None, iso(now)],
        )
        if cur.rowcount == 0:
            if url or canonical:  # first time this source's URL for the article is known
                conn.execute(
                    "UPDATE article_sources SET url = COALESCE(url, ?),"
                    " canonical_url = COALESCE(canonical_url, ?) WHERE article_id = ? AND source = ?",
                    [url, canonical or None, article_id, source],
                )
            return
        if source == primary:
            return
        for alert_id, reported in conn.execute(
            "SELECT id, also_reported_by FROM alerts WHERE article_id = ?", [article_id]
        ).fetchall():
            names = list(str_tuple(reported))
            if source not in names:
                names.append(source)
                conn.execute(
                    "UPDATE alerts SET also_reported_by = ? WHERE id = ?", [dumps(names), alert_id]
                )

    # -- articles --------------------------------------------------------------------------
    @_guarded
    def known_article(self, canonical_url: str, guid: str | None = None) -> int | None:
        """The id of a stored article with this canonical URL (also the URL under which a
        duplicate of it was seen) or non-empty GUID, else ``None``."""
        queries = (
            ("SELECT id FROM articles WHERE canonical_url = ? ORDER BY id LIMIT 1", canonical_url),
            (
                "SELECT article_id FROM article_sources WHERE canonical_url = ?"
                " ORDER BY article_id LIMIT 1",
                canonical_url,
            ),
            ("SELECT article_id FROM article_urls WHERE canonical_url = ?", canonical_url),
            ("SELECT id FROM articles WHERE guid = ? ORDER BY id LIMIT 1", guid or ""),
        )
        for sql, value in queries:
            if value:
                found = self._scalar(sql, [value])
                if found is not None:
                    return int(found)
        return None

    @_guarded
    def add_article_source(self, article_id: int, source: str, now: datetime) -> None:
        """Remember that ``source`` also carried a stored article (idempotent) and add it to
        ``also_reported_by`` of the article's alerts. :class:`NotFoundError` if no article."""
        with self._write():
            self._add_source(article_id, source, None, now)

    @_guarded
    def known_articles(
        self, keys: Sequence[tuple[str, str | None]], source: str | None = None
    ) -> list[int | None]:
        """:meth:`known_article` for many ``(canonical_url, guid)`` pairs at once: a few
        ``IN (...)`` queries in one read snapshot instead of three queries per pair. With
        ``source`` (the feed the keys come from), a feed-local GUID only finds an article of
        that source (:func:`storage.urls.guid_is_global`)."""
        urls = list(dict.fromkeys(c for c, _ in keys if c))
        guids = list(dict.fromkeys(g for _, g in keys if g))
        local_guids: list[str] = []
        if source is not None:
            local_guids = [g for g in guids if not guid_is_global(g)]
            guids = [g for g in guids if guid_is_global(g)]
        by_url: dict[str, int] = {}
        by_alias: dict[str, int] = {}
        by_alias_url: dict[str, int] = {}
        by_guid: dict[str, int] = {}
        # (query with "{}" for the IN list, its values, more parameters after them, results)
        lookups: tuple[tuple[str, list[str], list[str], dict[str, int]], ...] = (
            (
                "SELECT canonical_url, min(id) FROM articles WHERE canonical_url IN ({})"
                " GROUP BY canonical_url",
                urls,
                [],
                by_url,
            ),
            (
                "SELECT canonical_url, min(article_id) FROM article_sources WHERE canonical_url"
                " IN ({}) GROUP BY canonical_url",
                urls,
                [],
                by_alias,
            ),
            (
                "SELECT canonical_url, article_id FROM article_urls WHERE canonical_url IN ({})",
                urls,
                [],
                by_alias_url,
            ),
            (
                "SELECT guid, min(id) FROM articles WHERE guid IN ({}) GROUP BY guid",
                guids,
                [],
                by_guid,
            ),
            (
                "SELECT guid, min(id) FROM articles WHERE guid IN ({}) AND source = ?"
                " GROUP BY guid",
                local_guids,
                [source or ""],
                by_guid,
            ),
        )
        with self._read() as conn:
            for sql, values, more, out in lookups:
                for chunk, marks in in_lists(values):
                    for key, found in conn.execute(sql.format(marks), [*chunk, *more]):
                        out[key] = int(found)
        result: list[int | None] = []
        for canon, guid in keys:
            found_id = (
                (by_url.get(canon) or by_alias.get(canon) or by_alias_url.get(canon))
                if canon
                else None
            )
            if found_id is None and guid:
                found_id = by_guid.get(guid)
            result.append(found_id)
        return result

    @_guarded
    def add_article_sources(self, article_ids: Sequence[int], source: str, now: datetime) -> None:
        """:meth:`add_article_source` for several articles in one transaction."""
        with self._write():
            for article_id in article_ids:
                self._add_source(article_id, source, None, now)

    @_guarded
    def record_article(
        self,
        article: NewArticle,
        matches: Sequence[RuleMatch],
        alerts: Mapping[str, Sequence[str]],
        now: datetime,
        muted_rules: Sequence[str] = (),
    ) -> ArticleOutcome:
        """Store an article, its matches and its outbox alerts in ONE transaction.

        Deduplicates on canonical URL, then GUID, then content hash (the latter two only when
        non-empty; a missing ``content_hash`` is computed here). A duplicate only adds its
        source to the stored article (and to ``also_reported_by`` of its alerts) and returns
        ``created=False`` with no alert ids. Channels with no rules get no alert; an alert whose
        rules are all in ``muted_rules`` is stored with status ``muted``.
        """
        with self._write():
            out = self._record(article, matches, alerts, now, iso(now), muted_rules)
            self._queue_for_search([out])
            return out

    @_guarded
    def record_articles(
        self, items: Sequence[ArticleBatchItem], now: datetime
    ) -> list[ArticleOutcome]:
        """:meth:`record_article` for a batch ``(article, matches, alerts, muted_rules)``, in
        ONE transaction (all or nothing), in order: a later item duplicating an earlier one of
        the same batch is deduplicated against it exactly as if stored one by one."""
        stamp = iso(now)
        with self._write():
            fingerprints = [_fingerprint(article) for article, _, _, _ in items]
            # Keys of the batch already in the database (one query) or written by an earlier
            # item of this batch: only an article with such a key needs the exact duplicate
            # lookup; any other is new (a cold poll: one query per batch, not per article).
            seen = self._keys_present(items, fingerprints)
            out = []
            for (article, matches, alerts, muted), fingerprint in zip(
                items, fingerprints, strict=True
            ):
                keys = _dedup_keys(article, fingerprint)
                check = not seen.isdisjoint(keys)
                out.append(
                    self._record(article, matches, alerts, now, stamp, muted, fingerprint, check)
                )
                seen.update(keys)
                seen.update(("u", u) for u in article.aliases if u)
            self._queue_for_search(out)
            return out

    def _keys_present(
        self, items: Sequence[ArticleBatchItem], fingerprints: Sequence[str]
    ) -> set[tuple[str, str]]:
        """Which dedup keys of ``items`` (``("u", canonical URL)``, ``("g", GUID)``,
        ``("h", content hash)``) some stored article already has, in any of the places
        :meth:`_find_duplicate` looks (a GUID of any source: a superset is safe)."""
        values = {
            "u": list(dict.fromkeys(a.canonical_url for a, _, _, _ in items if a.canonical_url)),
            "g": list(dict.fromkeys(a.guid for a, _, _, _ in items if a.guid)),
            "h": list(dict.fromkeys(f for f in fingerprints if f)),
        }
        statements: list[tuple[str, list[str]]] = []
        for kind, table, _, column in _DEDUP_PLACES:
            for chunk, marks in in_lists(values[kind]):
                sql = f"SELECT '{kind}', {column} FROM {table} WHERE {column} IN ({marks})"
                statements.append((sql, chunk))
        present: set[tuple[str, str]] = set()
        # as few statements as SQLite's oldest parameter limit (999) allows: one for a feed
        while statements:
            sqls: list[str] = []
            params: list[str] = []
            while statements and (not sqls or len(params) + len(statements[0][1]) <= 999):
                sql, piece = statements.pop(0)
                sqls.append(sql)
                params.extend(piece)
            rows = self._conn.execute(" UNION ALL ".join(sqls), params)
            present.update((kind, value) for kind, value in rows)
        return present

    def _queue_for_search(self, outcomes: Sequence[ArticleOutcome]) -> None:
        """New articles wait in ``fts_pending`` for the bulk search-index update (one
        statement per batch: an AFTER INSERT trigger doing it cost ~10 us per article, half
        of the insert itself)."""
        ids = [(o.article_id,) for o in outcomes if o.created]
        if ids:
            self._conn.executemany("INSERT OR IGNORE INTO fts_pending (id) VALUES (?)", ids)

    def _record(
        self,
        article: NewArticle,
        matches: Sequence[RuleMatch],
        alerts: Mapping[str, Sequence[str]],
        now: datetime,
        stamp: str,
        muted_rules: Sequence[str],
        fingerprint: str | None = None,
        check: bool = True,
    ) -> ArticleOutcome:
        """The body of :meth:`record_article`, inside the caller's write transaction.
        ``check=False``: the caller knows no stored article shares a dedup key with it."""
        conn = self._conn
        if fingerprint is None:
            fingerprint = _fingerprint(article)
        existing = self._find_duplicate(article, fingerprint) if check else None
        if existing is not None:
            self._add_source(existing, article.source, article.url, now, article.canonical_url)
            # the same story under another URL too: known by it on the next poll
            self._add_aliases(existing, (*article.aliases, article.canonical_url))
            return ArticleOutcome(article_id=existing, created=False)
        cur = conn.execute(
            "INSERT INTO articles (url, canonical_url, source, title, text, guid, summary,"
            " published, language, author, site_name, extraction, extraction_note,"
            " content_hash, first_seen_at, item_updated, page_etag, page_last_modified)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.url,
                article.canonical_url,
                article.source,
                article.title,
                article.text,
                article.guid or None,
                article.summary,
                iso_or_none(article.published),
                article.language,
                article.author,
                article.site_name,
                article.extraction,
                article.extraction_note,
                fingerprint or None,
                stamp,
                iso_or_none(article.item_updated),
                article.page_etag,
                article.page_last_modified,
            ),
        )
        article_id = cur.lastrowid
        assert article_id is not None
        conn.execute(
            "INSERT INTO article_sources (article_id, source, url, canonical_url,"
            " first_seen_at) VALUES (?, ?, ?, ?, ?)",
            (article_id, article.source, article.url, article.canonical_url or None, stamp),
        )
        self._add_aliases(article_id, article.aliases)
        muted = set(muted_rules)
        _inserts.insert_matches(conn, article_id, matches, now, muted)
        return ArticleOutcome(
            article_id=article_id,
            created=True,
            alert_ids=_inserts.insert_alerts(conn, article_id, alerts, muted, stamp),
        )

    def _add_aliases(self, article_id: int, urls: Iterable[str]) -> None:
        """More canonical URLs a stored article is known by (its own URL is not repeated)."""
        rows = [(u, article_id, article_id, u) for u in dict.fromkeys(urls) if u]
        if rows:
            self._conn.executemany(
                "INSERT OR IGNORE INTO article_urls (canonical_url, article_id) SELECT ?, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM articles WHERE id = ? AND canonical_url = ?)",
                rows,
            )


def _fingerprint(article: NewArticle) -> str:
    """The content hash an article is stored and deduplicated under."""
    if article.content_hash is not None:
        return article.content_hash
    return content_hash(article.title, article.text)


def _dedup_keys(article: NewArticle, fingerprint: str) -> set[tuple[str, str]]:
    """The keys :meth:`ArticlesStore._find_duplicate` looks an article up by (non-empty)."""
    keys = set()
    if article.canonical_url:
        keys.add(("u", article.canonical_url))
    if article.guid:
        keys.add(("g", article.guid))
    if fingerprint:
        keys.add(("h", fingerprint))
    return keys


if TYPE_CHECKING:
    from storage.interface import ArticleBatchItem
