"""store.feeds: the `feeds` table, one row per configured source: what the config says (URL, type,
tags, active), what the last poll left (validators, status, error, failure kind, hints) and when
the next one is due; and the health read off it (failing and silent feeds)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable

from ..config import FeedConfig
from ..errors import StoreError
from ..model import FeedState, PollResult, from_iso, iso
from .connection import marks

if TYPE_CHECKING:
    from . import Store


class Feeds:
    def __init__(self, store: Store):
        self.db = store.db
        self.table = store.db["feeds"]

    def sync(self, feeds: Iterable[FeedConfig], now: datetime) -> None:
        """Make the feeds table match the config: new feeds are due now, removed ones inactive."""
        feeds = list(feeds)
        with self.db.atomic():
            urls = dict(self.db.execute("SELECT name, url FROM feeds").fetchall())
            for feed in feeds:
                config = {"type": feed.type, "tags": json.dumps(list(feed.tags), ensure_ascii=False), "active": 1}
                if feed.name not in urls:
                    self.table.insert({"name": feed.name, "url": feed.url, **config, "next_poll": iso(now)})
                elif urls[feed.name] != feed.url:  # a new URL starts afresh: old validators mean nothing there
                    self.table.update(feed.name, {"url": feed.url, **config, "etag": None, "last_modified": None,
                                                  "body_hash": None, "error_count": 0, "next_poll": iso(now),
                                                  "hint": None, "kind": None})
                else:
                    self.table.update(feed.name, config)
            names = [f.name for f in feeds]
            self.db.execute(f"UPDATE feeds SET active=0 WHERE name NOT IN ({marks(names)})", names)

    def state(self, name: str) -> FeedState:
        row = self.db.execute(
            "SELECT name, url, etag, last_modified, body_hash, polls_since_full, error_count, next_poll, hint, kind "
            "FROM feeds WHERE name=?",
            [name],
        ).fetchone()
        if row is None:
            raise StoreError(f"store: no feed named {name!r}")
        return FeedState(*row)

    def due(self, now: datetime) -> list[str]:
        rows = self.db.execute(
            "SELECT name FROM feeds WHERE active=1 AND (next_poll IS NULL OR next_poll <= ?) ORDER BY next_poll",
            [iso(now)],
        )
        return [r[0] for r in rows]

    def record(self, result: PollResult, added: int, stamp: str) -> None:
        """A poll's outcome on the feed's row: a success resets the failures and keeps the new
        validators; a failure is counted, with its kind and the next poll."""
        if result.error is None:
            self.db.execute(
                "UPDATE feeds SET status=?, last_error=NULL, failure=NULL, error_count=0, etag=?, "
                "last_modified=?, body_hash=?, polls_since_full=?, last_poll=?, last_success=?, next_poll=?, "
                "title=coalesce(?, title), article_count=article_count+?, problems=?, hint=?, "
                "kind=coalesce(?, kind) WHERE name=?",
                [
                    result.status, result.etag, result.last_modified, result.body_hash,
                    result.polls_since_full, stamp, stamp, result.next_poll, result.title,
                    added, result.problems, result.hint, result.kind, result.feed,
                ],
            )
        else:
            self.db.execute(
                "UPDATE feeds SET status=?, last_error=?, failure=?, error_count=error_count+1, last_poll=?, "
                "next_poll=? WHERE name=?",
                [result.status, result.error, result.failure, stamp, result.next_poll, result.feed],
            )

    def health(self) -> list[dict]:
        return list(
            self.db.query(
                "SELECT name, url, active, coalesce(kind, type) AS kind, status, last_error, failure, error_count, "
                "article_count, last_poll, last_success, next_poll FROM feeds ORDER BY active DESC, name"
            )
        )

    def silent(self, now: datetime) -> list[tuple[str, str]]:
        """Feeds that answer but have brought nothing new for much longer than their usual rhythm:
        more than 5 times their average gap between new articles, and more than a day."""
        rows = self.db.execute(
            "SELECT f.name, count(a.id), min(a.fetched), max(a.fetched) FROM feeds f JOIN articles a ON a.feed = f.name "
            "WHERE f.active = 1 AND f.last_error IS NULL GROUP BY f.name HAVING count(a.id) >= 5"
        ).fetchall()
        out = []
        for name, count, first, last in rows:
            first_at, last_at = from_iso(first), from_iso(last)
            gap = (last_at - first_at) / (count - 1)
            if now - last_at > max(timedelta(days=1), 5 * gap):
                out.append((name, last))
        return out

    def failing(self, now: datetime, after: timedelta = timedelta(days=1)) -> list[tuple[str, str]]:
        """Active feeds whose last success (or, never successful, whose first poll) is older than `after`."""
        rows = self.db.execute(
            "SELECT name, last_error FROM feeds WHERE active = 1 AND error_count > 0 "
            "AND coalesce(last_success, '') < ? ORDER BY name",
            [iso(now - after)],
        )
        return [(name, error or "") for name, error in rows]
