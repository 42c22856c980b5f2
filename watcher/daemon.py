"""The long-running service: APScheduler polls every source at start-up and then when the poll
engine says it is due (interval, jitter, backoff, Retry-After), never two polls of one source at
once; the alert outbox is drained continuously; the digest goes out daily at ``[digest] at``.

SIGTERM/SIGINT stop it cleanly: no new work starts, in-flight polls get a grace period to finish
(a source's new articles and fetch bookkeeping are stored in one transaction, so a poll cut
short stores nothing of that source's new items and is simply picked up again at the next
start; a revision of an already stored article is its own transaction).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from storage.interface import Store
from watcher.config import Config, SourceConfig
from watcher.digest import rolling_day
from watcher.health import source_health

if TYPE_CHECKING:
    from rules import RuleSet
    from watcher.pipeline import Poller
    from watcher.ruleload import LazyRuleSet

log = logging.getLogger("watcher.daemon")

Clock = Callable[[], datetime]
FETCH_LOG_DAYS = 30
INDEX_EVERY_S = 30.0  # how often new articles are added to the search index (in bulk)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Daemon:
    """Schedules polls, delivery and the digest on one asyncio loop."""

    def __init__(
        self,
        config: Config,
        store: Store,
        ruleset: RuleSet | LazyRuleSet,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Clock = _utcnow,
        deliver_every: float = 30.0,
        index_every: float = INDEX_EVERY_S,
        stop_grace: float = 30.0,
    ) -> None:
        self.config = config
        self.store = store
        self.ruleset = ruleset
        self.client = client
        self.clock = clock
        self.deliver_every = deliver_every
        self.index_every = index_every
        self.stop_grace = stop_grace
        self.scheduler: AsyncIOScheduler | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._poller: Poller | None = None
        self._index_failing = False
        self.polls_done = 0

    # -- public --------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set."""
        from watcher.pipeline import Poller

        async with Poller(self.config, self.store, self.ruleset, client=self.client) as poller:
            self._poller = poller
            scheduler = AsyncIOScheduler(
                timezone=UTC,
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
            )
            self.scheduler = scheduler
            scheduler.start()
            now = self.clock()
            n = max(len(self.config.sources), 1)
            # Spread the start-up polls over a few seconds so they do not bunch up.
            for i, source in enumerate(self.config.sources):
                self._schedule_poll(source, now + timedelta(seconds=min(5.0, 5.0 * i / n)))
            scheduler.add_job(
                self._deliver_job,
                "interval",
                seconds=self.deliver_every,
                id="deliver",
                next_run_time=now + timedelta(seconds=1),
            )
            scheduler.add_job(
                self._index_job,
                "interval",
                seconds=self.index_every,
                id="index",
                next_run_time=now + timedelta(seconds=self.index_every),
            )
            scheduler.add_job(
                self._housekeeping_job,
                "interval",
                hours=24,
                id="housekeeping",
                next_run_time=now + timedelta(minutes=1),
            )
            d = self.config.digest
            if d.alerts:
                scheduler.add_job(
                    self._digest_job,
                    CronTrigger(hour=d.at.hour, minute=d.at.minute, timezone=d.timezone),
                    id="digest",
                )
            log.info(
                "watching %d source(s) with %d rule(s); %d alert channel(s); digest %s",
                len(self.config.sources),
                len(self.ruleset.rule_ids),
                len(self.config.alerts),
                f"at {d.at:%H:%M} {d.timezone.key}" if d.alerts else "not sent (no channel)",
            )
            await stop.wait()
            await self._shutdown()

    # -- jobs ----------------------------------------------------------------------------------
    def _schedule_poll(self, source: SourceConfig, when: datetime) -> None:
        if self._stopping or self.scheduler is None:
            return
        # Never in the past: a date job whose time has passed while its previous run is still
        # counted would be skipped by APScheduler and then dropped, silencing the source.
        when = max(when, self.clock() + timedelta(seconds=1))
        self.scheduler.add_job(
            self._poll_job,
            "date",
            run_date=when,
            args=[source],
            id=f"poll:{source.name}",
            replace_existing=True,
            misfire_grace_time=None,  # late (suspend, overload) is still better than never
        )

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _poll_job(self, source: SourceConfig) -> None:
        if self._stopping:
            return
        self._track()
        poller = self._poller
        assert poller is not None
        try:
            report = await poller.poll_source(source, self.clock())
            self.polls_done += 1
            if report.status == "error":
                # the poll engine logs each failure; repeat offenders also get "since when"
                state = self.store.get_source(source.name)
                if state is not None and state.consecutive_failures > 1:
                    h = source_health(state, self.clock())
                    since = f"{h.since:%Y-%m-%d %H:%M} UTC" if h.since else "?"
                    log.warning("source %s failing since %s: %s", source.name, since, h.reason)
            elif report.new_articles:
                log.info(
                    "%s: %d new article(s), %d matched, %d alert(s)",
                    source.name,
                    report.new_articles,
                    report.matched_articles,
                    report.alerts_created,
                )
            if report.alerts_created:
                asyncio.get_running_loop().create_task(self._deliver_job())
        except Exception:  # a bug in one poll must not kill the daemon
            log.exception("poll of %s crashed; it will be retried", source.name)
        finally:
            try:
                when = poller.next_poll_at(source, self.clock())
            except Exception:
                log.exception("cannot compute next poll of %s; retrying in 15 minutes", source.name)
                when = self.clock() + timedelta(minutes=15)
            self._schedule_poll(source, when)

    async def _deliver_job(self) -> None:
        if self._stopping:
            return
        self._track()
        from watcher.alerts.deliver import deliver_due

        try:
            await deliver_due(self.store, self.config, self.clock(), client=self.client)
        except Exception:
            log.exception("alert delivery round failed; pending alerts stay in the outbox")

    async def _digest_job(self) -> None:
        if self._stopping:
            return
        self._track()
        from watcher.digest_send import send_digest

        now = self.clock()
        start, _ = rolling_day(now, self.config.digest.timezone)  # 23-25 h across DST
        try:
            await send_digest(self.store, self.config, start, now, now, self.ruleset)
        except Exception:
            log.exception("daily digest failed")

    async def _index_job(self) -> None:
        """Add the articles stored since the last run to the search index, off the polls'
        path (a search catches up by itself too; a failure only delays the index)."""
        if self._stopping:
            return
        try:
            added = self.store.index_pending()
        except Exception as exc:
            if self._index_failing:  # the traceback once; then one line per run
                log.warning("search index update still failing: %s", exc)
            else:
                log.exception("search index update failed; the next run or a search catches up")
            self._index_failing = True
            return
        if self._index_failing:
            log.info("search index update works again")
        self._index_failing = False
        if added:
            log.debug("search index: %d new article(s)", added)

    async def _housekeeping_job(self) -> None:
        """Keep the fetch log bounded (FETCH_LOG_DAYS of history)."""
        try:
            removed = self.store.prune_fetch_log(self.clock() - timedelta(days=FETCH_LOG_DAYS))
            if removed:
                log.info("pruned %d fetch-log row(s) older than %d days", removed, FETCH_LOG_DAYS)
        except Exception:
            log.exception("housekeeping failed")

    async def _shutdown(self) -> None:
        self._stopping = True
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        current = asyncio.current_task()
        pending = [t for t in self._inflight if t is not current and not t.done()]
        if pending:
            log.info("stopping: waiting up to %.0fs for %d task(s)", self.stop_grace, len(pending))
            _, still = await asyncio.wait(pending, timeout=self.stop_grace)
            for t in still:
                t.cancel()
            if still:
                await asyncio.wait(still, timeout=5)
        log.info("stopped")


def run_daemon(daemon: Daemon) -> None:
    """Run ``daemon`` until SIGTERM or SIGINT."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if stop.is_set():  # a second signal: stop now, cancel what is in flight
                log.warning("second signal: cancelling in-flight work")
                daemon.stop_grace = 0.0
                for task in list(daemon._inflight):
                    task.cancel()
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        await daemon.run(stop)

    asyncio.run(main())
