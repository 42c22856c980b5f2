"""One full cycle (``watcher poll`` and the demo): poll sources, then deliver the alerts due."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from storage.interface import Store
from watcher.config import Config, SourceConfig

if TYPE_CHECKING:
    from rules import RuleSet
    from watcher.pool import EarlyPool
    from watcher.ruleload import LazyRuleSet


@dataclass
class CycleResult:
    poll: Any  # watcher.pipeline.PollReport
    delivery: Any  # watcher.alerts.delivery.DeliveryReport

    def summary(self) -> str:
        lines = []
        for r in self.poll.sources:
            if r.status == "error":
                lines.append(f"{r.name}: FAILED: {r.error}")
            else:
                revised = getattr(r, "revised_articles", 0)
                lines.append(
                    f"{r.name}: {r.status}, {r.items} item(s), {r.new_articles} new, "
                    + (f"{revised} updated, " if revised else "")
                    + f"{r.matched_articles} matched, {r.alerts_created} alert(s)"
                )
        failed = sum(1 for r in self.poll.sources if r.status == "error")
        lines.append(
            f"polled {len(self.poll.sources)} source(s) ({failed} failed); "
            f"{sum(r.new_articles for r in self.poll.sources)} new article(s), "
            f"{sum(r.alerts_created for r in self.poll.sources)} alert(s) queued; "
            f"delivery: {self.delivery.summary() if hasattr(self.delivery, 'summary') else self.delivery}"
        )
        return "\n".join(lines)


async def run_cycle(
    config: Config,
    store: Store,
    ruleset: RuleSet | LazyRuleSet,
    sources: Sequence[SourceConfig] | None,
    now: datetime,
    *,
    client: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] | None = None,
    early_pool: EarlyPool | None = None,
) -> CycleResult:
    """Poll ``sources`` (all when ``None``) at ``now``, then deliver every alert that is due.

    Delivery happens at ``clock()`` (when given): a long poll must not make webhook timestamps
    and email dates stale. ``early_pool``: a worker pool already starting for this poll
    (:func:`watcher.pool.start_early`).
    """
    from watcher.alerts.deliver import deliver_due
    from watcher.pipeline import Poller

    async with Poller(
        config, store, ruleset, client=client, sources=sources, early_pool=early_pool
    ) as poller:
        report = await poller.poll(now, sources)
    delivery = await deliver_due(store, config, clock() if clock else now, client=client)
    # The new articles stay queued for the search index: `watcher search` adds them in one bulk
    # insert before it searches, and the daemon every 30 s. A one-shot poll does not wait for
    # it (bench/poll: 0.15 s for a cold poll's 10,000 articles, ~1.5 ms for a usual 100).
    return CycleResult(report, delivery)
