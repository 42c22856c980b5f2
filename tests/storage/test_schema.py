"""The schema script a new database is made from (storage/schema.py) against the migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage.errors import MigrationError
from storage.migrations import MIGRATIONS, SCHEMA_VERSION, create_current, migrate
from storage.schema import SCHEMA_VERSION_OF_SCRIPT
from storage.sqlite import open_store


def _describe(path: Path) -> dict[str, object]:
    """Everything the schema consists of: the catalogue (verbatim SQL), the version and the
    rows the migrations write."""
    conn = sqlite3.connect(path)
    try:
        return {
            "master": sorted(
                conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(),
                key=repr,
            ),
            "version": conn.execute("PRAGMA user_version").fetchone()[0],
            "fts_state": conn.execute("SELECT k, v FROM fts_state").fetchall(),
            "fts_config": conn.execute("SELECT k, v FROM articles_fts_config").fetchall(),
        }
    finally:
        conn.close()


def _migrated(path: Path) -> Path:
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(Database(conn, execute_plugins=False))
    conn.close()
    return path


def test_script_is_up_to_date_with_the_migrations() -> None:
    assert len(MIGRATIONS) == SCHEMA_VERSION == SCHEMA_VERSION_OF_SCRIPT, (
        "a migration was added: regenerate storage/schema.py from a migrated database"
    )


def test_new_database_from_the_script_equals_a_migrated_one(tmp_path: Path) -> None:
    made = tmp_path / "made.db"
    conn = sqlite3.connect(made, isolation_level=None)
    assert create_current(conn)
    conn.close()
    assert _describe(made) == _describe(_migrated(tmp_path / "migrated.db"))


def test_open_store_uses_the_script_and_the_result_works(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    store = open_store(path)
    try:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        store._conn.execute(
            "INSERT INTO articles (url, canonical_url, source, title, text, first_seen_at)"
            " VALUES ('u', 'u', 's', 'Llama 4 capex', 'body', 't')"
        )
        store._conn.execute("INSERT INTO fts_pending (id) VALUES (1)")  # as the store queues
        store.index_pending()
        hits = store._conn.execute(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'capex'"
        ).fetchall()
        assert hits == [(1,)]
    finally:
        store.close()
    assert _describe(path) == {
        **_describe(_migrated(tmp_path / "migrated.db")),
        "fts_state": _describe(path)["fts_state"],  # the sweep mark moves with indexing
    }


def test_script_leaves_an_existing_database_alone(tmp_path: Path) -> None:
    path = _migrated(tmp_path / "old.db")
    conn = sqlite3.connect(path, isolation_level=None)
    assert not create_current(conn)
    assert not conn.in_transaction
    conn.close()
    assert _describe(path) == _describe(_migrated(tmp_path / "again.db"))


def test_version_zero_file_with_tables_of_its_own_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE sources (x)")
    conn.commit()
    conn.close()
    with pytest.raises(MigrationError, match="sources"):
        open_store(path)
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    assert names == ["sources"]  # the failed creation was rolled back
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()
