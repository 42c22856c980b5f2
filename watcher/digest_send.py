"""Sending the digest to the ``[digest] alerts`` channels (email; a log channel logs it)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from storage.interface import Store
from watcher.config import Config, EmailAlert, LogAlert
from watcher.digest import Digest, build_digest, render, subject
from watcher.errors import DeliveryError

if TYPE_CHECKING:
    from rules import RuleSet
    from watcher.ruleload import LazyRuleSet

log = logging.getLogger("watcher.digest")


def rule_names(ruleset: RuleSet | LazyRuleSet | None) -> dict[str, str]:
    if ruleset is None:
        return {}
    return {rid: getattr(spec, "name", rid) or rid for rid, spec in ruleset.rules.items()}


async def send_digest(
    store: Store,
    config: Config,
    start: datetime,
    end: datetime,
    now: datetime,
    ruleset: RuleSet | LazyRuleSet | None = None,
) -> tuple[Digest, list[str]]:
    """Build the digest for [start, end) and send it to every digest channel.

    Returns the digest and the names of the channels that accepted it; raises
    :class:`DeliveryError` naming every channel that failed (after trying them all).
    """
    digest = build_digest(store, start, end, now, config.digest.timezone, rule_names(ruleset))
    sent: list[str] = []
    failures: list[str] = []
    for name in config.digest.alerts:
        channel = config.alert(name)
        try:
            if isinstance(channel, EmailAlert):
                from watcher.alerts.email import send_email_message

                # Unique per period: a manual --send later the same day is a new message.
                stamp = f"{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}"
                await send_email_message(
                    channel,
                    subject(digest),
                    render(digest, "text"),
                    render(digest, "html"),
                    message_id=f"digest-{stamp}-{name}",
                    now=now,
                )
            elif isinstance(channel, LogAlert):
                log.info("digest:\n%s", render(digest, "text"))
            else:
                raise DeliveryError(name, "digest channels must be email or log channels")
            sent.append(name)
        except DeliveryError as exc:
            log.warning("digest not delivered to %s: %s", name, exc.reason)
            failures.append(f"{name}: {exc.reason}")
    if failures:
        raise DeliveryError("digest", "; ".join(failures))
    return digest, sent
