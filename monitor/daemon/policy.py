"""daemon: the decisions, as pure functions of what happened, the settings and the time.

When a feed is polled next (after an answer or a failure, whatever the failure was: `classify` in
errors decides that), when a refused mail is tried again, when the digest is due, in what order the
feeds of a cycle go, which items of a feed come first and whether a feed's links may reach private
addresses. No clock, no network, no store: the callers pass `now` and the random draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from ..config import DigestConfig, FeedConfig, FetchConfig
from ..errors import PERMANENT, TEMPORARY, Failure
from ..fetch import is_public_address
from ..model import FeedState, Item

MAIL_RETRY_FIRST = 300.0  # a refused digest is tried again after 5 min × 2ⁿ …
MAIL_RETRY_MAX = 6 * 3600.0  # … up to 6 h


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a poll says about when to come back: a failure, or the publisher's hints."""

    failure: Failure | None = None  # None: the source answered
    hint: float | None = None  # its own ttl or sy:updatePeriod, seconds
    max_age: float | None = None  # the answer's Cache-Control max-age, seconds


def stretched(feed: FeedConfig, hint: float | None, max_age: float | None) -> float:
    """The feed's interval, stretched (never shortened) by what the publisher asks for — RSS
    ttl or sy:updatePeriod, and the answer's Cache-Control max-age — up to max_interval."""
    wanted = max([feed.interval, *(h for h in (hint, max_age) if h)])
    return min(wanted, max(feed.interval, feed.max_interval))


def poll_delay(feed: FeedConfig, state: FeedState, outcome: Outcome, settings: FetchConfig) -> float:
    """Seconds until the next poll, before jitter. `state` is the feed's row before this poll."""
    failure = outcome.failure
    if failure is None:
        return stretched(feed, outcome.hint, outcome.max_age)
    # A feed is never given up: after n failures in a row (this one included) it waits
    # interval × 2ⁿ, up to max_backoff, and is tried at that pace for as long as it fails.
    # Failures that will not pass by themselves back off faster: a body that is not a feed
    # (× 4ⁿ: it may still be a maintenance page) and 404/410 (the cap at once).
    base = 2 if failure.kind == TEMPORARY else 4
    delay = min(settings.max_backoff, feed.interval * base ** min(state.error_count + 1, 16))
    if failure.kind == PERMANENT:
        delay = max(settings.max_backoff, feed.interval)
    if failure.wait is not None:
        delay = max(delay, min(failure.wait, settings.max_retry_after))
    return delay


def next_poll(feed: FeedConfig, state: FeedState, outcome: Outcome, now: datetime, settings: FetchConfig,
              share: float = 0.0) -> datetime:
    """When the feed is polled next. The delay is put off by `share` (a random draw in [0, 1)) of
    `fetch.jitter` of itself: feeds added together (or all due at start) drift apart instead of
    hitting their hosts in the same minute for ever."""
    delay = poll_delay(feed, state, outcome, settings)
    return now + timedelta(seconds=delay * (1 + share * settings.jitter))


def mail_retry_delay(failures: int, failure: Failure) -> float:
    """Seconds until a refused mail is tried again, after `failures` refusals in a row."""
    delay = min(MAIL_RETRY_MAX, MAIL_RETRY_FIRST * 2 ** (failures - 1))
    return max(delay, failure.wait or 0.0)


def mail_configured(settings: DigestConfig | None) -> bool:
    return bool(settings and settings.to and settings.sender and settings.smtp)


def digest_slot(now: datetime, settings: DigestConfig | None) -> datetime | None:
    """The latest scheduled digest time at or before now (UTC), or None when no digest is set up."""
    if not mail_configured(settings):
        return None
    local = now.astimezone(ZoneInfo(settings.timezone))
    hour, minute = (int(part) for part in settings.time.split(":"))
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot > local:
        slot -= timedelta(days=1)
    return slot.astimezone(timezone.utc)


def newest_first(items: list[Item]) -> list[Item]:
    """Dated items newest first, then the undated in the feed's order (feeds list newest first)."""
    dated = sorted((item for item in items if item.published), key=lambda item: item.published, reverse=True)
    return dated + [item for item in items if not item.published]


def round_robin_by_host(feeds: Iterable[FeedConfig]) -> list[FeedConfig]:
    """The feeds in turn by host (first feed of each host, then the second of each, …), each host's
    in their own order. A feed holds a cycle slot while it waits for its host's per-host limit, so
    config order (an outlet's feeds listed together) would fill the slots with feeds of few hosts."""
    by_host: dict[str, list[FeedConfig]] = {}
    for feed in feeds:
        by_host.setdefault((urlsplit(feed.url).hostname or "").lower(), []).append(feed)
    queues = list(by_host.values())
    return [queue[i] for i in range(max(map(len, queues), default=0)) for queue in queues if i < len(queue)]


def allow_private(feed: FeedConfig, peer: str | None) -> bool:
    """May this feed's links reach private addresses? With `auto`, only when the feed itself
    came from one: the address its answer came from decides, and an unknown address is public."""
    if feed.private_links != "auto":
        return feed.private_links == "allow"
    return peer is not None and not is_public_address(peer)
