"""daemon: one cycle over the feeds due, each polled, isolated and stored, and its next poll set.

A feed's failure, whatever it is, is recorded on that feed (with its next poll, backing off) and
the cycle goes on with the others. Only the archive's own unavailability ends a cycle.
"""

from __future__ import annotations

import asyncio
import logging
from random import Random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable

from ..config import Config, FeedConfig
from ..errors import FeedError, StoreError, StoreUnavailable, classify
from ..fetch import Fetcher, Robots
from ..model import FeedState, PollResult, iso
from ..places import Gazetteer
from ..rules import RuleSet
from ..store import Store
from ..workers import Workers
from ..writer import Writer
from .pages import Pages
from .policy import Outcome, next_poll, poll_delay, round_robin_by_host
from .poll import Poller

log = logging.getLogger("monitor")
# At SIGTERM the feeds and pages in flight get this long to finish (and be stored); then they are
# cancelled, left for the next start, which systemd's TimeoutStopSec (90 s) is far above.
STOP_GRACE = 5.0


@dataclass
class CycleStats:
    feeds: int = 0
    failed: int = 0
    unchanged: int = 0
    parsed: int = 0
    articles: int = 0
    updated: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def count(self, result: PollResult) -> None:
        self.articles += result.new_articles
        self.updated += len(result.updates)
        if result.error:
            self.failed += 1
            self.errors.append(result.error)
        elif result.unchanged:
            self.unchanged += 1
        if result.body_hash and not result.unchanged and not result.error:
            self.parsed += 1


@dataclass
class Cycle:
    """What a cycle works with: the daemon's, at the time the cycle starts (a reload between
    cycles changes them). Reads go to `store`, writes to `archive`."""

    config: Config
    rules: RuleSet
    gazetteer: Gazetteer
    store: Store
    archive: Writer
    workers: Workers
    clock: Callable[[], datetime]
    stopping: asyncio.Event
    random: Random
    robots: Robots
    indexes: dict[str, list[str]]

    async def run(self, feeds: Iterable[FeedConfig], progress: Callable[[PollResult], None] | None = None) -> CycleStats:
        """Poll the feeds; `progress` is told of each feed's result as it is stored."""
        feeds = round_robin_by_host(feeds)
        stats = CycleStats(feeds=len(feeds))
        started = time.perf_counter()
        gate = asyncio.Semaphore(self.config.fetch.concurrency)
        async with Fetcher(self.config.fetch, self.robots) as fetcher:
            pages = Pages(fetcher, self.workers, self.config.fetch, self.rules, self.gazetteer)
            poller = Poller(self.config.fetch, self.store, self.archive, self.workers, pages,
                            clock=self.clock, stopping=self.stopping, indexes=self.indexes)

            async def one(feed: FeedConfig) -> None:
                async with gate:
                    if self.stopping.is_set():
                        return
                    result = await self.save(feed, await self.poll_safely(poller, feed))
                    if progress is not None:
                        progress(result)
                    stats.count(result)

            try:
                await self.until_stopped([asyncio.ensure_future(one(feed)) for feed in feeds])
            finally:
                pages.close()
        await self.archive.run(Store.checkpoint, self.clock())
        stats.seconds = time.perf_counter() - started
        log.info(
            "cycle done",
            extra={"feeds": stats.feeds, "failed": stats.failed, "unchanged": stats.unchanged,
                   "articles": stats.articles, "seconds": round(stats.seconds, 2)},
        )
        return stats

    async def until_stopped(self, tasks: list[asyncio.Future]) -> None:
        """Await the tasks; at SIGTERM give them STOP_GRACE seconds, then cancel the rest. A task
        is cancelled only where it awaits, never inside a (synchronous) transaction."""
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            pending = set(tasks)
            while pending and not self.stopping.is_set():
                _done, pending = await asyncio.wait(pending | {stop}, return_when=asyncio.FIRST_COMPLETED)
                pending.discard(stop)
            if pending:
                _done, late = await asyncio.wait(pending, timeout=STOP_GRACE)
                if late:
                    log.info("stopping: work in flight cancelled, left for the next start", extra={"tasks": len(late)})
                for task in late:
                    task.cancel()
        finally:
            stop.cancel()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):  # a StoreBusy: the tick is skipped
                raise outcome

    async def save(self, feed: FeedConfig, result: PollResult) -> PollResult:
        """Store a poll. If its batch cannot be written (something in it the database refuses), the
        feed's failure is written instead, so the cycle goes on and the feed is not retried hot."""
        try:
            await self.archive.run(Store.save_poll, result, self.clock())
            return result
        except StoreUnavailable:
            raise
        except StoreError as exc:
            if result.error is not None:
                raise
            log.exception("feed batch not stored", extra={"feed": feed.name})
            failure = self.failed(feed, self.store.feed_state(feed.name), FeedError(feed.name, f"batch not stored: {exc}"))
            await self.archive.run(Store.save_poll, failure, self.clock())
            return failure

    async def poll_safely(self, poller: Poller, feed: FeedConfig) -> PollResult:
        state = self.store.feed_state(feed.name)
        try:
            result, outcome, answered = await poller.poll(feed, state)
        except FeedError as exc:
            return self.failed(feed, state, exc)
        except StoreUnavailable:  # the archive's, not the feed's: the tick is skipped
            raise
        except Exception as exc:  # a bug or a library surprise must not stop the other feeds
            log.exception("feed failed unexpectedly", extra={"feed": feed.name, "url": feed.url})
            return self.failed(feed, state, FeedError(feed.name, f"internal error: {type(exc).__name__}: {exc}"))
        result.next_poll = self.next_poll(feed, state, outcome, answered)
        return result

    def failed(self, feed: FeedConfig, state: FeedState, exc: FeedError) -> PollResult:
        """The feed's failure as its row will say it, logged with how long it waits."""
        now = self.clock()
        outcome = Outcome(failure=classify(exc))
        log.warning(str(exc), extra={"feed": feed.name, "url": exc.url or feed.url, "failure": outcome.failure.column,
                                     "retry_in": round(poll_delay(feed, state, outcome, self.config.fetch))})
        return PollResult(
            feed=feed.name,
            status=getattr(exc, "status", None),
            error=str(exc),
            failure=outcome.failure.column,
            next_poll=self.next_poll(feed, state, outcome, now),
        )

    def next_poll(self, feed: FeedConfig, state: FeedState, outcome: Outcome, now: datetime) -> str:
        return iso(next_poll(feed, state, outcome, now, self.config.fetch, share=self.random.random()))
