"""health: how each configured feed is doing, as `monitor feeds` shows it.

A feed is failing (with its failure's kind) while it has errors in a row, stale when it answers but
has brought nothing new for much longer than its usual rhythm (store.silent_feeds), new before its
first poll, ok otherwise. Drawing the table is the CLI's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FeedHealth:
    row: dict  # the feed's row: name, kind, status, error_count, article_count, last_success, next_poll, last_error
    state: str  # "failing (permanent)", "stale: nothing new since …", "new", "ok"
    level: str  # failing, stale, new, ok: what the state is, for its colour


def state(row: dict, stale_since: str | None) -> tuple[str, str]:
    """(level, state text) of a feed's row; `stale_since` is when a silent feed last brought something."""
    if row["error_count"]:
        return "failing", f"failing ({row['failure'] or 'temporary'})"
    if stale_since is not None:
        return "stale", f"stale: nothing new since {stale_since}"
    if row["last_poll"] is None:
        return "new", "new"
    return "ok", "ok"


def feed_health(store, feeds, now: datetime) -> list[FeedHealth]:
    """The active feeds of the config, each with its state; the archive's feed rows are synced first."""
    store.sync_feeds(feeds, now)
    rows = store.health()
    stale = dict(store.silent_feeds(now))
    out = []
    for row in rows:
        if row["active"]:
            level, text = state(row, stale.get(row["name"]))
            out.append(FeedHealth(row, text, level))
    return out
