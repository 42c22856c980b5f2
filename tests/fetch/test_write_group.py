"""The poller's group commit (watcher.writegroup): writes queued in one event-loop turn share a
transaction; when one fails, each runs again alone, so that only it fails; a transaction that
cannot begin fails every caller."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage import NewArticle, canonical_url
from storage.errors import DatabaseUnavailableError
from storage.sqlite import SQLiteStore, open_store
from watcher.writegroup import WriteGroup

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _article(n: int) -> NewArticle:
    url = f"https://w.example/{n}"
    return NewArticle(
        url=url,
        canonical_url=canonical_url(url),
        source="feed-a",
        title=f"Story {n}",
        text=f"story {n} " + "words " * 40,
    )


def _store_one(store: SQLiteStore, n: int) -> Callable[[], int]:
    def write() -> int:
        return store.record_articles([(_article(n), [], {}, ())], NOW)[0].article_id

    return write


def _run_while_locked(holder: SQLiteStore, main: Callable[[], Any]) -> Any:
    """``asyncio.run(main())`` while another connection holds the write lock."""
    holder.db.conn.execute("BEGIN IMMEDIATE")
    try:
        return asyncio.run(main())
    finally:
        holder.db.conn.execute("ROLLBACK")


def _urls(store: SQLiteStore) -> list[str]:
    return [r[0] for r in store.db.conn.execute("SELECT url FROM articles ORDER BY url")]


def test_writes_of_one_turn_share_a_transaction(store: Any) -> None:
    group = WriteGroup(store)

    async def main() -> list[int]:
        ids = await asyncio.gather(*(group.run(_store_one(store, n)) for n in range(5)))
        assert group.flushes == 1
        await group.run(_store_one(store, 5))  # a later turn: a transaction of its own
        return ids

    ids = asyncio.run(main())
    assert len(set(ids)) == 5
    assert group.flushes == 2
    assert _urls(store) == [f"https://w.example/{n}" for n in range(6)]


def test_a_failing_write_is_undone_alone_and_raises_to_its_caller(store: Any) -> None:
    group = WriteGroup(store)

    def half_then_fail() -> None:
        store.record_articles([(_article(99), [], {}, ())], NOW)
        raise ValueError("this source's bug")

    async def main() -> list[Any]:
        return await asyncio.gather(
            group.run(_store_one(store, 1)),
            group.run(half_then_fail),
            group.run(_store_one(store, 2)),
            return_exceptions=True,
        )

    first, failed, last = asyncio.run(main())
    assert isinstance(first, int) and isinstance(last, int)
    assert isinstance(failed, ValueError)
    assert group.flushes == 2  # the group failed; the other two committed alone
    assert _urls(store) == ["https://w.example/1", "https://w.example/2"]  # not 99
    assert store.index_pending() == 2


def test_a_transaction_that_cannot_begin_fails_every_caller(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    with open_store(path) as holder, open_store(path, busy_timeout_s=0.05) as store:
        group = WriteGroup(store)
        ran: list[int] = []

        def write(n: int) -> Callable[[], None]:
            return lambda: ran.append(n)

        async def main() -> list[Any]:
            return await asyncio.gather(
                group.run(write(1)), group.run(write(2)), return_exceptions=True
            )

        results = _run_while_locked(holder, main)
        assert all(isinstance(r, DatabaseUnavailableError) for r in results)
        assert ran == [] and group.flushes == 0
        asyncio.run(group.run(_store_one(store, 3)))  # the next turn works again
        assert _urls(store) == ["https://w.example/3"]


def test_a_caller_cancelled_before_the_flush_does_not_write(store: Any) -> None:
    group = WriteGroup(store)
    ran: list[str] = []

    async def main() -> None:
        doomed = asyncio.ensure_future(group.run(lambda: ran.append("doomed")))
        kept = asyncio.ensure_future(group.run(lambda: ran.append("kept")))
        await asyncio.sleep(0)  # both queued; the flush is scheduled after this turn
        doomed.cancel()
        await kept
        with pytest.raises(asyncio.CancelledError):
            await doomed

    asyncio.run(main())
    assert ran == ["kept"]


def test_disk_full_in_one_write_fails_that_write_only(tmp_path: Path) -> None:
    """SQLite rolls back the whole transaction on SQLITE_FULL, the writes before the failing
    one included (review 6): they run again alone, and the small ones still fit."""
    with open_store(tmp_path / "full.db") as store:
        pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
        store.db.conn.execute(f"PRAGMA max_page_count = {pages + 40}")
        group = WriteGroup(store)
        big = dataclasses.replace(_article(2), text="a long text " * 300_000)

        async def main() -> list[Any]:
            return await asyncio.gather(
                group.run(_store_one(store, 1)),
                group.run(lambda: store.record_articles([(big, [], {}, ())], NOW)),
                group.run(_store_one(store, 3)),
                return_exceptions=True,
            )

        first, failed, last = asyncio.run(main())
        assert isinstance(first, int) and isinstance(last, int)
        assert isinstance(failed, DatabaseUnavailableError) and "full" in str(failed)
        assert _urls(store) == ["https://w.example/1", "https://w.example/3"]
        assert group.flushes == 2 and not store.db.conn.in_transaction
        store.db.conn.execute("PRAGMA max_page_count = 1073741823")
        asyncio.run(group.run(_store_one(store, 4)))  # room again: the next group commits
        assert _urls(store)[-1] == "https://w.example/4"


def test_a_write_is_run_again_alone_from_scratch(store: Any) -> None:
    """What a write did in the failed group is undone before it runs again: the article it
    stored there is not found as a duplicate of itself the second time."""
    group = WriteGroup(store)
    outcomes: list[bool] = []

    def first() -> None:
        outcomes.append(store.record_articles([(_article(1), [], {}, ())], NOW)[0].created)

    def broken() -> None:
        raise ValueError("bug")

    async def main() -> list[Any]:
        return await asyncio.gather(group.run(first), group.run(broken), return_exceptions=True)

    asyncio.run(main())
    assert outcomes == [True, True]  # created in the group (undone), created again alone
    assert _urls(store) == ["https://w.example/1"]


def test_the_same_article_from_two_sources_in_one_group_is_stored_once(store: Any) -> None:
    group = WriteGroup(store)
    other = dataclasses.replace(_article(1), source="feed-b")

    async def main() -> list[Any]:
        return await asyncio.gather(
            group.run(lambda: store.record_articles([(_article(1), [], {}, ())], NOW)),
            group.run(lambda: store.record_articles([(other, [], {}, ())], NOW)),
        )

    first, second = asyncio.run(main())
    assert group.flushes == 1
    assert first[0].created and not second[0].created
    assert first[0].article_id == second[0].article_id
    assert store.get_article(first[0].article_id).sources == ("feed-a", "feed-b")


def test_a_write_raising_a_base_exception_undoes_the_group_and_reaches_every_caller(
    store: Any,
) -> None:
    group = WriteGroup(store)

    def interrupted() -> None:
        raise KeyboardInterrupt

    async def main() -> list[Any]:
        return await asyncio.gather(
            group.run(_store_one(store, 1)),
            group.run(interrupted),
            return_exceptions=True,
        )

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(main())
    assert _urls(store) == [] and not store.db.conn.in_transaction
    asyncio.run(group.run(_store_one(store, 2)))  # and the group works afterwards
    assert _urls(store) == ["https://w.example/2"]


def test_a_locked_database_fails_the_group_with_one_wait_not_one_per_write(
    tmp_path: Path,
) -> None:
    """Another process holds the write lock past the busy timeout: BEGIN fails, and trying
    again write by write would only wait once more per write, on the event loop (review 8)."""
    path = tmp_path / "locked.db"
    with open_store(path) as holder, open_store(path, busy_timeout_s=0.05) as store:
        attempts = 0
        real = store.transaction

        @contextlib.contextmanager
        def counted(**kw: Any) -> Iterator[None]:
            nonlocal attempts
            attempts += 1
            with real(**kw):
                yield

        store.transaction = counted  # type: ignore[method-assign]
        group = WriteGroup(store)

        async def main() -> list[Any]:
            writes = [group.run(_store_one(store, n)) for n in range(5)]
            return await asyncio.gather(*writes, return_exceptions=True)

        results = _run_while_locked(holder, main)
        assert all(isinstance(r, DatabaseUnavailableError) for r in results)
        assert attempts == 1 and _urls(store) == []
