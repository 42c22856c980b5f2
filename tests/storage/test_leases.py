"""Alert delivery leases (claim_alerts / release_alerts), the retry horizon start and the
migration that added them: real SQLite files, several connections on one file."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

from sqlite_utils import Database

from storage import SQLiteStore, open_store
from storage.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from tests.storage.conftest import T0, article, at, match

LEASE = timedelta(minutes=10)


def _alerts(store: SQLiteStore, n: int, minute: float = 0) -> list[str]:
    ids: list[str] = []
    for i in range(n):
        out = store.record_article(
            article(f"https://l.example/{minute}/{i}"), [match()], {"ops": ["deepseek"]}, at(minute)
        )
        ids.extend(out.alert_ids)
    return ids


def test_a_live_lease_keeps_other_owners_out_until_it_expires(store: SQLiteStore) -> None:
    ids = _alerts(store, 3)
    assert store.claim_alerts(ids[:2], "a", T0, LEASE) == ids[:2]
    rec = store.get_alert(ids[0])
    assert (rec.claimed_by, rec.lease_until) == ("a", T0 + LEASE)
    assert store.claim_alerts(ids, "b", at(9), LEASE) == [ids[2]]
    assert store.claim_alerts(ids, "a", at(9), LEASE) == ids[:2]  # the owner renews its own
    assert store.claim_alerts(ids, "c", at(18), LEASE) == []  # renewed until 19 and 19
    assert store.claim_alerts(ids, "c", at(19), LEASE) == ids  # expired: at-least-once
    assert store.get_alert(ids[2]).claimed_by == "c"


def test_only_pending_and_due_alerts_are_claimed(store: SQLiteStore) -> None:
    sent, failed, later, muted_ = _alerts(store, 4)
    store.mark_alert_sent(sent, at(1))
    store.mark_alert_failed(failed, at(1), "HTTP 404")
    store.mark_alert_retry(later, at(1), "HTTP 500", at(30))
    store.mark_alert_muted(muted_, at(1), "muted at delivery: rule deepseek")
    every = [sent, failed, later, muted_, "al_unknown"]
    assert store.claim_alerts(every, "a", at(2), LEASE) == []
    assert store.claim_alerts(every, "a", at(2), LEASE, due_only=False) == [later]
    assert store.claim_alerts([], "a", at(2), LEASE) == []


def test_outcomes_end_the_lease_and_release_is_per_owner(store: SQLiteStore) -> None:
    a, b, c, d, e = _alerts(store, 5)
    assert store.claim_alerts([a, b, c, d, e], "x", T0, LEASE) == [a, b, c, d, e]
    store.mark_alert_sent(a, at(1))
    store.mark_alert_retry(b, at(1), "HTTP 503", at(2))
    store.mark_alert_failed(c, at(1), "HTTP 401")
    store.defer_alert(d, at(60), "quiet hours")
    for i in (a, b, c, d):
        rec = store.get_alert(i)
        assert (rec.claimed_by, rec.lease_until) == (None, None)
    assert store.release_alerts([a, b, c, d, e], "someone-else") == 0
    assert store.get_alert(e).claimed_by == "x"
    assert store.release_alerts([a, b, c, d, e], "x") == 1
    assert store.claim_alerts([e], "y", at(1), LEASE) == [e]


def test_take_over_a_dead_owner(store: SQLiteStore) -> None:
    [a] = _alerts(store, 1)
    store.claim_alerts([a], "host:111:dead", T0, LEASE)
    assert store.claim_alerts([a], "host:222:new", at(1), LEASE) == []
    assert store.claim_alerts([a], "host:222:new", at(1), LEASE, take_over={"host:333:x"}) == []
    assert store.claim_alerts([a], "host:222:new", at(1), LEASE, take_over={"host:111:dead"}) == [a]


def test_retry_restarts_the_horizon_and_keeps_a_live_lease(store: SQLiteStore) -> None:
    [a] = _alerts(store, 1, minute=5)
    rec = store.get_alert(a)
    assert rec.horizon_from == at(5) and rec.horizon_start == at(5)
    store.mark_alert_failed(a, at(6), "gave up")
    store.retry_alert(a, at(600))
    rec = store.get_alert(a)
    assert (rec.status, rec.attempts, rec.horizon_start, rec.created_at) == (
        "pending",
        0,
        at(600),
        at(5),
    )
    # a retry of an alert in flight elsewhere does not free it for a second sender
    store.claim_alerts([a], "x", at(600), LEASE)
    store.retry_alert(a, at(601))
    assert store.claim_alerts([a], "y", at(601), LEASE) == []


def test_two_connections_racing_claim_each_alert_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    setup = open_store(path)
    ids = _alerts(setup, 300)
    setup.close()
    stores = [open_store(path) for _ in range(4)]
    start = threading.Barrier(len(stores))
    won: dict[str, list[str]] = {}

    def worker(i: int, s: SQLiteStore) -> None:
        start.wait()
        got: list[str] = []
        for k in range(0, len(ids), 25):  # many small claims interleave
            got += s.claim_alerts(ids[k : k + 25], f"owner-{i}", T0, LEASE)
        won[f"owner-{i}"] = got

    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate(stores)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        for s in stores:
            s.close()
    claimed = [a for got in won.values() for a in got]
    assert sorted(claimed) == sorted(ids)  # every alert once, none twice
    check = open_store(path)
    try:
        for owner, got in won.items():
            assert all(check.get_alert(a).claimed_by == owner for a in got)
    finally:
        check.close()


def test_migration_2_backfills_the_horizon_of_existing_alerts(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    db = Database(sqlite3.connect(path, isolation_level=None))
    migrate(db, MIGRATIONS[:1])
    assert schema_version(db.conn) == 1
    created = T0.isoformat(timespec="microseconds")
    db.execute(
        "INSERT INTO articles (id, url, canonical_url, source, title, text, first_seen_at)"
        " VALUES (1, 'https://v1.example/a', 'https://v1.example/a', 'feed-a', 'T', 'x', ?)",
        [created],
    )
    db.execute(
        "INSERT INTO alerts (id, article_id, channel, rules, status, created_at)"
        " VALUES ('al_v1', 1, 'ops', '[\"deepseek\"]', 'pending', ?)",
        [created],
    )
    db.close()
    store = open_store(path)
    try:
        assert schema_version(store.db.conn) == SCHEMA_VERSION >= 2
        rec = store.get_alert("al_v1")
        assert (rec.horizon_from, rec.claimed_by, rec.lease_until) == (T0, None, None)
        assert store.claim_alerts(["al_v1"], "a", T0, LEASE) == ["al_v1"]
    finally:
        store.close()
