"""Updated articles: when a source says a stored item changed, revalidate it.

An item already stored is revisited when its source states a modification time (Atom
``<updated>``, JSON Feed ``date_modified``, sitemap ``lastmod``) later than the one stored
(or, when none was stored, later than when the article was first seen). Its page is fetched
again with ``If-None-Match`` / ``If-Modified-Since`` from the first fetch: a 304 costs no
extraction and no matching. A changed text is stored as a new revision and matched again; only
rules the article did not match before raise alerts (one update alert per channel), so an edit
that adds "DeepSeek" to a story alerts once and a typo fix alerts nobody.

Politeness bounds: at most :data:`MAX_REVISITS_PER_POLL` revisits per source and poll (newest
modification first) and none sooner than :data:`MIN_REVISIT_GAP` after the last check of the
same article. A feed-only source revisits with its feed text, never replacing a full text
extracted from the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.models import PageState

if TYPE_CHECKING:  # the item type lives in the pipeline
    from watcher.pipeline import _Item

MAX_REVISITS_PER_POLL = 10
MIN_REVISIT_GAP = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Revisit:
    """A stored article to revalidate, with the item that announced the change."""

    item: _Item
    state: PageState


def due_revisits(
    known: Sequence[tuple[_Item, int]],
    states: dict[int, PageState],
    now: datetime,
    *,
    uses_page: bool,
    limit: int = MAX_REVISITS_PER_POLL,
) -> list[Revisit]:
    """The known items whose source announces a newer revision, newest first, within the
    politeness bounds. ``known``: (item, stored article id) pairs."""
    out: dict[int, Revisit] = {}
    for item, article_id in known:
        state = states.get(article_id)
        if item.updated is None or state is None or article_id in out:
            continue
        if item.updated <= (state.item_updated or state.first_seen_at):
            continue
        if state.checked_at is not None and now - state.checked_at < MIN_REVISIT_GAP:
            continue
        if not uses_page and state.extraction == "fulltext":
            continue  # the feed text would replace the page's full text
        out[article_id] = Revisit(item, state)
    ranked = sorted(out.values(), key=lambda r: r.item.updated or now, reverse=True)
    return ranked[:limit]
