"""The alert outbox: state machine, due ordering, throttling counts, deferral and mutes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import Mute, NotFoundError, SQLiteStore
from tests.storage.conftest import T0, article, at, match


def _alert(store: SQLiteStore, n: int, channel: str = "ops", minute: float = 0) -> str:
    out = store.record_article(
        article(f"https://o.example/{n}"), [match()], {channel: ["deepseek"]}, at(minute)
    )
    return out.alert_ids[0]


def test_alert_ids_are_unique_and_stable(store: SQLiteStore) -> None:
    ids = [_alert(store, i) for i in range(5)]
    assert len(set(ids)) == 5 and all(i.startswith("al_") for i in ids)
    store.mark_alert_retry(ids[0], at(1), "HTTP 500", at(2))
    assert store.get_alert(ids[0]).id == ids[0]


def test_pending_retry_sent(store: SQLiteStore) -> None:
    a = _alert(store, 1)
    assert [x.id for x in store.due_alerts(T0)] == [a]
    store.mark_alert_retry(a, at(1), "connection refused", at(5))
    rec = store.get_alert(a)
    assert (rec.status, rec.attempts, rec.last_error, rec.next_attempt_at) == (
        "pending",
        1,
        "connection refused",
        at(5),
    )
    assert store.due_alerts(at(4)) == []
    assert [x.id for x in store.due_alerts(at(5))] == [a]
    store.mark_alert_sent(a, at(6))
    rec = store.get_alert(a)
    assert (rec.status, rec.attempts, rec.sent_at, rec.next_attempt_at) == ("sent", 2, at(6), None)
    assert store.due_alerts(at(100)) == [] and store.pending_alerts() == []


def test_failed_and_retry_alert(store: SQLiteStore) -> None:
    a = _alert(store, 1)
    store.mark_alert_retry(a, at(1), "boom", at(2))
    store.mark_alert_failed(a, at(3), "gave up: boom")
    rec = store.get_alert(a)
    assert (rec.status, rec.attempts, rec.last_error) == ("failed", 2, "gave up: boom")
    assert store.due_alerts(at(100)) == []
    assert [x.id for x in store.list_alerts("failed")] == [a]
    store.retry_alert(a, at(10))
    rec = store.get_alert(a)
    assert (rec.status, rec.attempts, rec.next_attempt_at, rec.last_error) == (
        "pending",
        0,
        at(10),
        "gave up: boom",
    )
    assert store.due_alerts(at(9)) == []
    assert [x.id for x in store.due_alerts(at(10))] == [a]


def test_defer_does_not_count_an_attempt(store: SQLiteStore) -> None:
    a = _alert(store, 1)
    store.defer_alert(a, at(8 * 60), "quiet hours")
    rec = store.get_alert(a)
    assert (rec.status, rec.attempts, rec.next_attempt_at, rec.note) == (
        "pending",
        0,
        at(480),
        "quiet hours",
    )
    assert store.due_alerts(at(479)) == []
    assert [x.id for x in store.pending_alerts()] == [a]
    store.mark_alert_sent(a, at(480), note="batched")
    rec = store.get_alert(a)
    assert (rec.status, rec.note, rec.attempts) == ("sent", "batched", 1)


def test_due_ordering_limit_and_channels(store: SQLiteStore) -> None:
    late = _alert(store, 1, "ops", minute=5)
    early = _alert(store, 2, "mail", minute=1)
    mid = _alert(store, 3, "ops", minute=3)
    store.mark_alert_retry(mid, at(4), "x", at(4))  # due again, still ordered by creation
    assert [x.id for x in store.due_alerts(at(10))] == [early, mid, late]
    assert [x.id for x in store.due_alerts(at(10), limit=2)] == [early, mid]
    assert [x.id for x in store.pending_alerts("ops")] == [mid, late]
    assert [x.id for x in store.list_alerts()] == [late, mid, early]  # newest first
    assert [x.id for x in store.list_alerts(channel="ops", limit=1)] == [late]
    assert [x.id for x in store.list_alerts("pending", channel="mail")] == [early]
    assert store.list_alerts("sent") == []


def test_alerts_sent_since(store: SQLiteStore) -> None:
    ids = [_alert(store, i) for i in range(4)]
    other = _alert(store, 9, "mail")
    for minute, alert_id in zip((1, 2, 30, 31), ids, strict=True):
        store.mark_alert_sent(alert_id, at(minute))
    store.mark_alert_sent(other, at(31))
    assert store.alerts_sent_since("ops", at(0)) == 4
    assert store.alerts_sent_since("ops", at(30)) == 2
    assert store.alerts_sent_since("ops", at(31) + timedelta(seconds=1)) == 0
    assert store.alerts_sent_since("mail", at(0)) == 1
    assert store.alerts_sent_since("nope", at(0)) == 0


def test_unknown_alert_ids(store: SQLiteStore) -> None:
    for call in (
        lambda: store.get_alert("al_nope"),
        lambda: store.mark_alert_sent("al_nope", T0),
        lambda: store.mark_alert_retry("al_nope", T0, "e", T0),
        lambda: store.mark_alert_failed("al_nope", T0, "e"),
        lambda: store.retry_alert("al_nope", T0),
        lambda: store.defer_alert("al_nope", T0, "quiet"),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_counts_by_status(store: SQLiteStore) -> None:
    a, b, _ = (_alert(store, i) for i in range(3))
    store.mark_alert_sent(a, at(1))
    store.mark_alert_failed(b, at(1), "x")
    counts = store.counts()
    assert counts.alerts == {"pending": 1, "sent": 1, "failed": 1, "muted": 0}
    assert (counts.articles, counts.matches, counts.sources) == (3, 3, 2)


def test_mutes(store: SQLiteStore) -> None:
    forever = Mute("rule", "deepseek", T0)
    brief = Mute("source", "feed-b", T0, until=at(60))
    store.add_mute(forever)
    store.add_mute(brief)
    assert store.active_mutes(at(59)) == [forever, brief]
    assert store.active_mutes(at(60)) == [forever]  # expired at ``until``
    store.add_mute(Mute("source", "feed-b", at(1), until=at(120)))  # replaces
    assert [m.until for m in store.active_mutes(at(61)) if m.kind == "source"] == [at(120)]
    assert store.remove_mute("rule", "deepseek") is True
    assert store.remove_mute("rule", "deepseek") is False
    assert [m.target for m in store.active_mutes(at(61))] == ["feed-b"]
