"""SQLite persistence for AI News Watcher, behind the :class:`Store` protocol."""

from storage.errors import DatabaseUnavailableError, MigrationError, NotFoundError, StorageError
from storage.interface import Store
from storage.models import (
    AlertRecord,
    AlertStatus,
    ArticleOutcome,
    ArticleRecord,
    Counts,
    DigestEntry,
    FetchLogEntry,
    FetchStatus,
    MatchRecord,
    Mute,
    NewArticle,
    SourceDef,
    SourceState,
    SourceUpdate,
)
from storage.sqlite import SQLiteStore, open_store
from storage.urls import canonical_url, content_hash

__all__ = [
    "AlertRecord",
    "AlertStatus",
    "ArticleOutcome",
    "ArticleRecord",
    "Counts",
    "DatabaseUnavailableError",
    "DigestEntry",
    "FetchLogEntry",
    "FetchStatus",
    "MatchRecord",
    "MigrationError",
    "Mute",
    "NewArticle",
    "NotFoundError",
    "SQLiteStore",
    "SourceDef",
    "SourceState",
    "SourceUpdate",
    "StorageError",
    "Store",
    "canonical_url",
    "content_hash",
    "open_store",
]
