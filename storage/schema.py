"""The current schema as one script: what :data:`storage.migrations.MIGRATIONS` build, for a
new database in one transaction (without running the migrations one by one through sqlite-utils,
whose import alone costs ~45 ms of a first ``watcher poll``), the way Rails loads ``schema.rb``.

The statements are the ``sqlite_master`` entries a migrated database holds, verbatim (the text
of a table reflects its ``ALTER TABLE`` history). ``tests/storage/test_schema.py`` checks that a
database made from this script and one made by the migrations are the same; a new migration
must update this script too (that test says so).
"""

from __future__ import annotations

__all__ = ["SCHEMA_STATEMENTS", "SCHEMA_VERSION_OF_SCRIPT"]

#: The schema version (number of migrations) this script corresponds to.
SCHEMA_VERSION_OF_SCRIPT = 8

#: Tables, indexes and triggers, in an order that satisfies their references, then the rows the
#: migrations write (migration 6's sweep mark; migration 8's search-index buffer size).
SCHEMA_STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE "sources" (
   "name" TEXT PRIMARY KEY,
   "url" TEXT NOT NULL,
   "kind" TEXT NOT NULL,
   "configured_url" TEXT NOT NULL,
   "etag" TEXT,
   "last_modified" TEXT,
   "last_attempt_at" TEXT,
   "last_success_at" TEXT,
   "last_error" TEXT,
   "last_error_at" TEXT,
   "failing_since" TEXT,
   "consecutive_failures" INTEGER DEFAULT 0,
   "next_poll_at" TEXT,
   "retired" INTEGER DEFAULT 0,
   "retired_reason" TEXT,
   "items_seen" INTEGER DEFAULT 0,
   "last_new_item_at" TEXT,
   "created_at" TEXT NOT NULL
)""",
    """CREATE TABLE "fetch_log" (
   "id" INTEGER PRIMARY KEY,
   "source" TEXT NOT NULL,
   "url" TEXT NOT NULL,
   "at" TEXT NOT NULL,
   "status" TEXT NOT NULL,
   "http_status" INTEGER,
   "error" TEXT,
   "duration_ms" INTEGER,
   "items" INTEGER,
   "new_items" INTEGER
)""",
    """CREATE INDEX "idx_fetch_log_source_at"
    ON "fetch_log" ("source", "at")""",
    """CREATE INDEX "idx_fetch_log_at"
    ON "fetch_log" ("at")""",
    """CREATE TABLE "articles" (
   "id" INTEGER PRIMARY KEY,
   "url" TEXT NOT NULL,
   "canonical_url" TEXT NOT NULL,
   "source" TEXT NOT NULL,
   "title" TEXT NOT NULL,
   "text" TEXT NOT NULL,
   "guid" TEXT,
   "summary" TEXT,
   "published" TEXT,
   "language" TEXT,
   "author" TEXT,
   "site_name" TEXT,
   "extraction" TEXT,
   "extraction_note" TEXT,
   "content_hash" TEXT,
   "first_seen_at" TEXT NOT NULL
, item_updated TEXT, page_etag TEXT, page_last_modified TEXT, checked_at TEXT, revised_at TEXT, revision INTEGER NOT NULL DEFAULT 0)""",
    """CREATE INDEX "idx_articles_canonical_url"
    ON "articles" ("canonical_url")""",
    """CREATE INDEX "idx_articles_guid"
    ON "articles" ("guid")""",
    """CREATE INDEX "idx_articles_content_hash"
    ON "articles" ("content_hash")""",
    """CREATE INDEX "idx_articles_first_seen_at"
    ON "articles" ("first_seen_at")""",
    """CREATE VIRTUAL TABLE "articles_fts" USING FTS5 (
    "title", "text",
    tokenize='trigram case_sensitive 0',
    content="articles"
)""",
    """CREATE TABLE "article_sources" (
   "article_id" INTEGER REFERENCES "articles"("id"),
   "source" TEXT,
   "url" TEXT,
   "canonical_url" TEXT,
   "first_seen_at" TEXT NOT NULL,
   PRIMARY KEY ("article_id", "source")
)""",
    """CREATE INDEX "idx_article_sources_source"
    ON "article_sources" ("source")""",
    """CREATE INDEX "idx_article_sources_canonical_url"
    ON "article_sources" ("canonical_url")""",
    """CREATE TABLE "matches" (
   "id" INTEGER PRIMARY KEY,
   "article_id" INTEGER NOT NULL REFERENCES "articles"("id"),
   "rule" TEXT NOT NULL,
   "name" TEXT NOT NULL,
   "severity" TEXT NOT NULL,
   "tags" TEXT DEFAULT '[]',
   "evidence" TEXT DEFAULT '[]',
   "details" TEXT DEFAULT '[]',
   "amount_usd" REAL,
   "muted" INTEGER DEFAULT 0,
   "matched_at" TEXT NOT NULL
)""",
    """CREATE UNIQUE INDEX "idx_matches_article_id_rule"
    ON "matches" ("article_id", "rule")""",
    """CREATE INDEX "idx_matches_rule"
    ON "matches" ("rule")""",
    """CREATE TABLE "alerts" (
   "id" TEXT PRIMARY KEY,
   "article_id" INTEGER NOT NULL REFERENCES "articles"("id"),
   "channel" TEXT NOT NULL,
   "rules" TEXT DEFAULT '[]',
   "status" TEXT NOT NULL,
   "attempts" INTEGER DEFAULT 0,
   "next_attempt_at" TEXT,
   "last_error" TEXT,
   "created_at" TEXT NOT NULL,
   "sent_at" TEXT,
   "note" TEXT,
   "also_reported_by" TEXT DEFAULT '[]'
, "claimed_by" TEXT, "lease_until" TEXT, "horizon_from" TEXT, revision INTEGER NOT NULL DEFAULT 0)""",
    """CREATE INDEX "idx_alerts_status_next_attempt_at"
    ON "alerts" ("status", "next_attempt_at")""",
    """CREATE INDEX "idx_alerts_channel_status_sent_at"
    ON "alerts" ("channel", "status", "sent_at")""",
    """CREATE TABLE "mutes" (
   "kind" TEXT,
   "target" TEXT,
   "created_at" TEXT NOT NULL,
   "until" TEXT,
   PRIMARY KEY ("kind", "target")
)""",
    "CREATE TABLE fts_pending (id INTEGER PRIMARY KEY)",
    "CREATE TABLE article_urls (canonical_url TEXT PRIMARY KEY,"
    " article_id INTEGER NOT NULL REFERENCES articles(id))",
    "CREATE INDEX idx_article_urls_article_id ON article_urls (article_id)",
    "CREATE TABLE page_retries (key TEXT PRIMARY KEY,"
    " attempts INTEGER NOT NULL, first_failed_at TEXT NOT NULL, last_error TEXT)",
    "CREATE UNIQUE INDEX idx_alerts_article_id_channel_revision"
    " ON alerts (article_id, channel, revision)",
    "CREATE TABLE fts_state (k TEXT PRIMARY KEY, v INTEGER NOT NULL)",
    """CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text)
    SELECT 'delete', old.id, old.title, old.text
    WHERE EXISTS (SELECT 1 FROM articles_fts_docsize WHERE id = old.id);
  DELETE FROM fts_pending WHERE id = old.id;
END""",
    """CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles
WHEN EXISTS (SELECT 1 FROM articles_fts_docsize WHERE id = old.id) BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
  INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END""",
    "INSERT INTO fts_state (k, v) VALUES ('swept', 0)",
    "INSERT INTO articles_fts (articles_fts, rank) VALUES ('hashsize', 16777216)",
)
