"""SQLite persistence for AI News Watcher, behind the :class:`Store` protocol."""

from typing import TYPE_CHECKING, Any

from storage.errors import (
    DatabaseUnavailableError,
    MigrationError,
    NotFoundError,
    StorageError,
    TransactionAborted,
)
from storage.interface import Store
from storage.models import (
    AlertRecord,
    AlertStatus,
    ArticleOutcome,
    ArticleRecord,
    ArticleRevision,
    Counts,
    DigestEntry,
    FetchLogEntry,
    FetchStatus,
    MatchRecord,
    Mute,
    NewArticle,
    PageCheck,
    PageState,
    RevisionOutcome,
    SourceDef,
    SourceState,
    SourceUpdate,
)
from storage.urls import canonical_url, content_hash

if TYPE_CHECKING:
    from storage.sqlite import SQLiteStore, open_store


def __getattr__(name: str) -> Any:
    """Import the SQLite backend (and sqlite-utils) only when it is asked for."""
    if name in ("SQLiteStore", "open_store"):
        from storage import sqlite

        return getattr(sqlite, name)
    raise AttributeError(f"module 'storage' has no attribute {name!r}")


__all__ = [
    "AlertRecord",
    "AlertStatus",
    "ArticleOutcome",
    "ArticleRecord",
    "ArticleRevision",
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
    "PageCheck",
    "PageState",
    "RevisionOutcome",
    "SQLiteStore",
    "SourceDef",
    "SourceState",
    "SourceUpdate",
    "StorageError",
    "Store",
    "TransactionAborted",
    "canonical_url",
    "content_hash",
    "open_store",
]
