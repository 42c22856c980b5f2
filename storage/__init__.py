"""SQLite persistence for AI News Watcher, behind the :class:`Store` protocol."""

from typing import TYPE_CHECKING, Any

from storage.errors import (
    DatabaseUnavailableError,
    MigrationError,
    NotFoundError,
    StorageError,
    TransactionAborted,
)

if TYPE_CHECKING:
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
    from storage.sqlite import SQLiteStore, open_store
    from storage.urls import canonical_url, content_hash

# Imported on first use: a pool worker needs only storage.urls (canonical URLs, content
# hashes), and importing that submodule runs this file; the models and the protocol took
# ~10 ms of every worker's start-up, the SQLite backend (and sqlite-utils) more.
_LAZY = {
    "Store": "storage.interface",
    **dict.fromkeys(
        (
            "AlertRecord",
            "AlertStatus",
            "ArticleOutcome",
            "ArticleRecord",
            "ArticleRevision",
            "Counts",
            "DigestEntry",
            "FetchLogEntry",
            "FetchStatus",
            "MatchRecord",
            "Mute",
            "NewArticle",
            "PageCheck",
            "PageState",
            "RevisionOutcome",
            "SourceDef",
            "SourceState",
            "SourceUpdate",
        ),
        "storage.models",
    ),
    "SQLiteStore": "storage.sqlite",
    "open_store": "storage.sqlite",
    "canonical_url": "storage.urls",
    "content_hash": "storage.urls",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'storage' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
