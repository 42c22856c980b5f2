"""Which channel hears about which rules: the channel's rule filter and minimum severity."""

from __future__ import annotations

from collections.abc import Sequence

from rules.models import RuleMatch
from watcher.config import SEVERITIES, AlertConfig


def route(
    matches: Sequence[RuleMatch], channels: Sequence[AlertConfig]
) -> dict[str, tuple[str, ...]]:
    """Map each channel name to the ids of the matched rules it should be alerted about.

    Channels with no matching rule are left out. A channel's ``rules`` filter (``None``: all
    rules) and ``min_severity`` both apply.
    """
    out: dict[str, tuple[str, ...]] = {}
    for channel in channels:
        floor = SEVERITIES.index(channel.min_severity)
        ids = tuple(
            m.rule
            for m in matches
            if (channel.rules is None or m.rule in channel.rules)
            and SEVERITIES.index(m.severity) >= floor
        )
        if ids:
            out[channel.name] = ids
    return out
