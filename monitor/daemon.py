"""daemon: the cycle (poll → parse → new items → pages → extract → match → store) and the service loop.

This is where the clock, the network (through fetch), the workers and the disk (through store) meet.
The loop reads the archive on a connection of its own and writes it only through `writer` threads,
so another process holding the write lock delays storing, never the polling or the watchdog.
A feed's failure, whatever it is, is recorded on that feed and the cycle goes on with the others.
On SIGTERM or SIGINT no new feed is started; the feeds in flight finish and are stored; exit 0.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import random
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable, Iterable
from zoneinfo import ZoneInfo
from urllib.parse import urlsplit

import schedule

from . import digest as digest_stage
from . import extract as extract_stage
from . import crawl
from . import config as config_mod
from . import rules as rules_stage
from .config import Config, FeedConfig
from .dedup import canonical_url, fingerprint, strip_tracking
from .index import tokenize
from .errors import (PERMANENT, TEMPORARY, ConfigError, ExtractError, FeedError, FetchError, ParseError, RuleError, StoreBusy,
                     StoreError, StoreFull, StoreUnavailable, classify)
from .fetch import CRAWL_ACCEPT, FEED_ACCEPT, PAGE_ACCEPT, Fetcher, Robots, is_public_address, max_age_seconds
from .model import Article, Extracted, Item, ParsedFeed, PollResult, Request
from .places import Gazetteer, load_gazetteer
from .rules import RuleSet
from .store import MIN_FREE_BYTES, Store, iso
from .systemd import EarlySignals, Notifier
from . import writer as writer_mod
from .writer import Writer
from .workers import TaskFailed, Workers

log = logging.getLogger("monitor")
TICK_SECONDS = 60
MAX_CHILD_SITEMAPS = 5  # of a sitemap index, the newest few: news indexes list one sitemap a day
MIN_ARTICLE_WORDS = 80  # a section page's link whose page has less text is navigation, not news
ARTICLE_BATCH = 50  # a feed's articles are built and committed this many at a time
# At SIGTERM the feeds and pages in flight get this long to finish (and be stored); then they are
# cancelled, left for the next start, which systemd's TimeoutStopSec (90 s) is far above.
STOP_GRACE = 5.0
_KINDS = {"page": "page", "sitemap": "sitemap", "news-sitemap": "sitemap", "sitemapindex": "sitemap"}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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


# Tasks go to the worker processes as functools.partial of a stage's own function, so a worker
# imports only that stage's module (monitor.parse is light; this module would bring trafilatura and
# the store with it), and recycled workers start in a tenth of the time.


def _newest_first(items: list[Item]) -> list[Item]:
    """Dated items newest first, then the undated in the feed's order (feeds list newest first)."""
    dated = sorted((item for item in items if item.published), key=lambda item: item.published, reverse=True)
    return dated + [item for item in items if not item.published]


def _round_robin_by_host(feeds: Iterable[FeedConfig]) -> list[FeedConfig]:
    """The feeds in turn by host (first feed of each host, then the second of each, …), each host's
    in their own order. A feed holds a cycle slot while it waits for its host's per-host limit, so
    config order (an outlet's feeds listed together) would fill the slots with feeds of few hosts."""
    by_host: dict[str, list[FeedConfig]] = {}
    for feed in feeds:
        by_host.setdefault((urlsplit(feed.url).hostname or "").lower(), []).append(feed)
    queues = list(by_host.values())
    return [queue[i] for i in range(max(map(len, queues), default=0)) for queue in queues if i < len(queue)]


class Monitor:
    """One configured monitor: store, rules, fetcher and workers, and the cycle over them."""

    def __init__(self, config: Config, store: Store, rules: RuleSet, workers: Workers,
                 clock: Callable[[], datetime] = utcnow, gazetteer: Gazetteer | None = None):
        self.config = config
        # Writes go to `archive` (the store given, on its own thread); the digest and alerts to
        # `mail` (its own connection and thread, so a slow mail server never holds up storing);
        # reads to `store`, the loop's connection: in WAL mode a reader never waits on a writer.
        self.archive = Writer(store)
        self.mail = Writer(Store(store.path, story_window=store.story_window), name="archive-mail", retry=False)
        self.store = Store(store.path, story_window=store.story_window, busy_ms=writer_mod.BUSY_MS)
        self.background_mail = False  # serve() mails in a task of its own; one call (a test) awaits it
        self._mailing: asyncio.Task | None = None
        self._stop_at: float | None = None  # time.monotonic() of the stop asked for
        self.rules = rules
        self.gazetteer = gazetteer or load_gazetteer()
        self.workers = workers
        self.clock = clock
        self.stopping = asyncio.Event()
        self.started = clock()
        self._synced = False
        self._digest_failures = 0
        self._digest_retry_at: datetime | None = None
        self._spikes_mailed: dict[str, datetime] = {}  # rule → when its spike was last mailed
        self.random = random.Random()
        self.robots = Robots()  # robots.txt of crawled sites, kept across cycles
        self.notifier = Notifier({})  # serve() sets the real one
        self._indexes: dict[str, list[str]] = {}  # sitemap feed → the sitemaps its index lists ([] if none)
        # This cycle's page fetches by canonical URL: a page two feeds list (once with utm_ tags) is
        # fetched once, the second feed awaits the first's fetch. Emptied when the cycle ends.
        self._pages: dict[str, asyncio.Task] = {}
        self.full: Exception | None = None  # the archive refused to grow (StoreFull): polling waits
        self.last_cycle: CycleStats | None = None
        self._reload_wanted = False
        self._wake = asyncio.Event()  # set to end the wait between ticks: stop or reload

    # ------------------------------------------------------------------------------------ cycle

    async def cycle(self, feeds: Iterable[FeedConfig], progress: Callable[[PollResult], None] | None = None) -> CycleStats:
        """Poll the feeds; `progress` is told of each feed's result as it is stored."""
        feeds = _round_robin_by_host(feeds)
        stats = CycleStats(feeds=len(feeds))
        started = time.perf_counter()
        gate = asyncio.Semaphore(self.config.fetch.concurrency)
        async with Fetcher(self.config.fetch, self.robots) as fetcher:

            async def one(feed: FeedConfig) -> None:
                async with gate:
                    if self.stopping.is_set():
                        return
                    result = await self._poll_safely(fetcher, feed)
                    result = await self._save(feed, result)
                    if progress is not None:
                        progress(result)
                    stats.articles += result.new_articles
                    stats.updated += len(result.updates)
                    if result.error:
                        stats.failed += 1
                        stats.errors.append(result.error)
                    elif result.unchanged:
                        stats.unchanged += 1
                    if result.body_hash and not result.unchanged and not result.error:
                        stats.parsed += 1

            try:
                await self._until_stopped([asyncio.ensure_future(one(feed)) for feed in feeds])
            finally:
                for fetch in self._pages.values():  # those only a cancelled feed awaited
                    fetch.cancel()
                self._pages.clear()
        await self.archive.run(Store.checkpoint, self.clock())
        stats.seconds = time.perf_counter() - started
        log.info(
            "cycle done",
            extra={"feeds": stats.feeds, "failed": stats.failed, "unchanged": stats.unchanged,
                   "articles": stats.articles, "seconds": round(stats.seconds, 2)},
        )
        return stats

    async def _until_stopped(self, tasks: list[asyncio.Future]) -> None:
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

    async def _save(self, feed: FeedConfig, result: PollResult) -> PollResult:
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
            failure = self._failure(feed, self.store.feed_state(feed.name).error_count,
                                    FeedError(feed.name, f"batch not stored: {exc}"))
            await self.archive.run(Store.save_poll, failure, self.clock())
            return failure

    async def _poll_safely(self, fetcher: Fetcher, feed: FeedConfig) -> PollResult:
        state = self.store.feed_state(feed.name)
        try:
            return await self._poll(fetcher, feed, state)
        except FeedError as exc:
            return self._failure(feed, state.error_count, exc)
        except StoreUnavailable:  # the archive's, not the feed's: the tick is skipped
            raise
        except Exception as exc:  # a bug or a library surprise must not stop the other feeds
            log.exception("feed failed unexpectedly", extra={"feed": feed.name, "url": feed.url})
            return self._failure(feed, state.error_count, FeedError(feed.name, f"internal error: {type(exc).__name__}: {exc}"))

    def _failure(self, feed: FeedConfig, errors_before: int, exc: FeedError) -> PollResult:
        now = self.clock()
        settings = self.config.fetch
        # A feed is never given up: after n failures in a row (this one included) it waits
        # interval × 2ⁿ, up to max_backoff, and is tried at that pace for as long as it fails.
        # Failures that will not pass by themselves back off faster: a body that is not a feed
        # (× 4ⁿ: it may still be a maintenance page) and 404/410 (the cap at once).
        failure = classify(exc)
        delay = min(settings.max_backoff, feed.interval * (2 if failure.kind == TEMPORARY else 4) ** min(errors_before + 1, 16))
        if failure.kind == PERMANENT:
            delay = max(settings.max_backoff, feed.interval)
        if failure.wait is not None:
            delay = max(delay, min(failure.wait, settings.max_retry_after))
        log.warning(str(exc), extra={"feed": feed.name, "url": exc.url or feed.url,
                                     "failure": failure.column, "retry_in": round(delay)})
        return PollResult(
            feed=feed.name,
            status=getattr(exc, "status", None),
            error=str(exc),
            failure=failure.column,
            next_poll=iso(now + timedelta(seconds=self._jittered(delay))),
        )

    def _jittered(self, delay: float) -> float:
        """Put a poll off by up to `fetch.jitter` of its delay: feeds added together (or all due at
        start) drift apart instead of hitting their hosts in the same minute for ever."""
        return delay * (1 + self.random.uniform(0, self.config.fetch.jitter))

    @staticmethod
    def interval(feed: FeedConfig, hint: float | None, max_age: float | None) -> float:
        """The feed's interval, stretched (never shortened) by what the publisher asks for — RSS
        ttl or sy:updatePeriod, and the answer's Cache-Control max-age — up to max_interval."""
        wanted = max([feed.interval, *(h for h in (hint, max_age) if h)])
        return min(wanted, max(feed.interval, feed.max_interval))

    async def _poll(self, fetcher: Fetcher, feed: FeedConfig, state) -> PollResult:
        full = state.polls_since_full + 1 >= feed.revalidate_every
        kind = feed.type if feed.type != "auto" else (state.kind or "auto")
        # A sitemap index's own body rarely changes (the same /sitemap-news.xml, undated) while the
        # sitemaps it lists do: its sitemaps are remembered and read even when it answers 304. After a
        # restart the list is unknown, so that one poll asks without validators.
        sitemaps = self._indexes.get(feed.name)
        full = full or (kind == "sitemap" and sitemaps is None)
        # Sitemaps and pages are crawled politely (robots.txt, crawl delay). A URL not sniffed yet is
        # asked for once like a feed: the user named it; its links are crawled politely if it is a page.
        crawled = kind in ("sitemap", "page")
        response = await fetcher.fetch(Request(
            feed.url,
            feed=feed.name,
            max_bytes=feed.max_feed_size,
            deadline=feed.timeout,
            accept=FEED_ACCEPT if kind == "feed" else CRAWL_ACCEPT,
            etag=None if full else state.etag,
            last_modified=None if full else state.last_modified,
            polite=crawled,
        ))
        now = self.clock()
        max_age = max_age_seconds(response.headers.get("cache-control"))
        result = PollResult(
            feed=feed.name,
            status=response.status,
            etag=response.headers.get("etag") or state.etag,
            last_modified=response.headers.get("last-modified") or state.last_modified,
            body_hash=state.body_hash,
            polls_since_full=0 if full else state.polls_since_full + 1,
            next_poll=iso(now + timedelta(seconds=self._jittered(self.interval(feed, state.hint, max_age)))),
            hint=state.hint,
        )
        digest = None if response.not_modified else hashlib.sha256(response.body).hexdigest()
        if digest is None or digest == state.body_hash:  # 304, or the server ignored our validators
            result.unchanged = True
            if not sitemaps:
                return result
            parsed = ParsedFeed(format="sitemapindex", link=feed.url, sitemaps=sitemaps)
        else:
            parsed = await self._parse(feed, kind, response)
            if parsed.format in _KINDS and parsed.format != "page":
                self._indexes[feed.name] = parsed.sitemaps
        found = _KINDS.get(parsed.format, "feed")
        # What an unsniffed URL served is remembered only once it held something: a first answer
        # that is an empty page or an interstitial must not make a feed a section page for good.
        result.kind = found if (feed.type != "auto" or state.kind or parsed.items or parsed.sitemaps) else None
        if not result.unchanged:
            result.body_hash = digest
            result.title = parsed.title or None
            result.hint = parsed.ttl
            result.next_poll = iso(now + timedelta(seconds=self._jittered(self.interval(feed, parsed.ttl, max_age))))
            result.problems = "; ".join(parsed.problems)[:2000] or None
        allow_private = self._allow_private(feed, response.peer)
        if found == "feed":
            fresh = _newest_first(self._new_items(feed, parsed.items))
            items = fresh[: feed.max_items]  # one huge feed must not starve the others: the rest next poll
            changed = self.store.changed(feed.name, parsed.items)  # stored items whose title or text changed
            updated = await asyncio.gather(*(self._article(fetcher, feed, item, allow_private) for _id, item in changed))
            result.updates = [(article_id, article) for (article_id, _item), article in zip(changed, updated)]
            done = await self._articles_in_batches(fetcher, feed, items, allow_private, result)
            if done < len(fresh):
                # Items left by the cap: no validators and no body hash are kept, so the
                # next poll reads the feed again instead of taking a 304 for "nothing new".
                result.etag = result.last_modified = result.body_hash = None
                log.info("feed items left for the next poll", extra={"feed": feed.name, "items": len(fresh) - done})
        else:
            if parsed.sitemaps:  # an index: the newest sitemaps it lists
                parsed.items = await self._child_sitemaps(fetcher, feed, parsed.sitemaps, allow_private)
            since = iso(now - timedelta(seconds=feed.max_age))
            # recent first (no I/O), then the store's look-up of those only, then the cap on new ones
            recent = crawl.recent(parsed.items, since, len(parsed.items))
            items = self._new_items(feed, recent)[: feed.max_items]
            await self._crawl(fetcher, feed, result, items, allow_private, listing=found == "page")
        log.info("feed polled", extra={"feed": feed.name, "url": feed.url, "status": response.status, "kind": result.kind,
                                       "items": len(parsed.items), "new": len(items)})
        return result

    async def _parse(self, feed: FeedConfig, kind: str, response) -> ParsedFeed:
        try:
            return await self.workers.run(
                self.config.fetch.extract_timeout,
                functools.partial(crawl.parse, kind=kind, url=response.url, content_type=response.content_type,
                                  feed=feed.name, follow=feed.follow),
                response.body,
            )
        except TaskFailed as exc:
            raise ParseError(feed.name, str(exc), url=feed.url, permanent=False) from None

    async def _child_sitemaps(self, fetcher: Fetcher, feed: FeedConfig, urls: list[str], allow_private: bool) -> list[Item]:
        """The items of an index's newest sitemaps. One that fails is noted and the others go on."""
        items: list[Item] = []
        for url in urls[:MAX_CHILD_SITEMAPS]:
            try:
                response = await fetcher.fetch(Request(url, feed=feed.name, max_bytes=feed.max_feed_size, deadline=feed.timeout,
                                                       accept=CRAWL_ACCEPT, public_only=not allow_private, polite=True))
                child = await self._parse(feed, "sitemap", response)
            except FeedError as exc:
                log.warning("sitemap not read", extra={"feed": feed.name, "url": url, "error": str(exc)})
                continue
            items.extend(child.items)
        return items

    async def _crawl(self, fetcher: Fetcher, feed: FeedConfig, result: PollResult, items: list[Item], allow_private: bool,
                     listing: bool) -> None:
        """New links of a sitemap or page through the same page fetch → extract → match path as a
        feed's items. A link that turns out not to be an article (gone, forbidden by robots.txt, a
        page with too little text: navigation) is remembered and never fetched again; one that
        failed for a passing reason is left for the next poll, when it is still listed."""
        gate = asyncio.Semaphore(self.config.fetch.per_host)  # the crawl delay spaces them anyway

        async def one(item: Item) -> None:
            async with gate:
                if self.stopping.is_set():  # at SIGTERM the links not begun are left to the next poll
                    return
                await link(item)

        async def link(item: Item) -> None:
            try:
                extracted = await self._page(fetcher, feed, item.link, allow_private, polite=True)
            except FeedError as exc:
                temporary = not classify(exc, page=True).lasting
                log.info("link not used", extra={"feed": feed.name, "url": item.link, "error": exc.reason,
                                                 "retry": temporary})
                if not temporary:
                    result.skipped.append((item.guid, canonical_url(item.link)))
                return
            except Exception as exc:  # one odd link must not fail the others; tried again next poll
                log.warning("link failed unexpectedly", extra={"feed": feed.name, "url": item.link, "error": repr(exc)})
                return
            if listing and len(extracted.text.split()) < MIN_ARTICLE_WORDS:
                log.info("link not an article", extra={"feed": feed.name, "url": item.link,
                                                       "words": len(extracted.text.split())})
                result.skipped.append((item.guid, canonical_url(item.link)))
                return
            result.articles.append(self._tagged(feed, item, extracted, listing=listing))

        await asyncio.gather(*(one(item) for item in items))

    async def _articles_in_batches(self, fetcher: Fetcher, feed: FeedConfig, items: list[Item], allow_private: bool,
                                   result: PollResult) -> int:
        """Build the items' articles ARTICLE_BATCH at a time and commit each batch as it is built.
        Returns how many items were done."""
        done = 0
        for start in range(0, len(items), ARTICLE_BATCH):
            # At SIGTERM batches go on for STOP_GRACE, then the poll is cancelled (_until_stopped):
            # the batches stored stay, the feed's row is not written, so the feed is due again at
            # the next start and its other items are taken then.
            batch = items[start:start + ARTICLE_BATCH]
            built = await asyncio.gather(*(self._article(fetcher, feed, item, allow_private) for item in batch))
            try:
                result.stored += len(await self.archive.run(Store.save_articles, list(built), self.clock()))
            except StoreUnavailable:
                raise
            except StoreError as exc:
                raise FeedError(feed.name, f"batch not stored: {exc}") from None
            done += len(batch)
        return done

    def _new_items(self, feed: FeedConfig, items: list[Item]) -> list[Item]:
        """Items whose GUID (in this feed) and canonical URL (anywhere) are not stored yet, once each."""
        urls = {item.guid: canonical_url(item.link) for item in items}
        known_guids, known_urls = self.store.known(feed.name, urls.keys(), urls.values())
        fresh, seen_guids, seen_urls = [], set(), set()
        for item in items:
            url = urls[item.guid]
            if item.guid in known_guids or item.guid in seen_guids or (url and (url in known_urls or url in seen_urls)):
                continue
            seen_guids.add(item.guid)
            if url:
                seen_urls.add(url)
            fresh.append(item)
        return fresh

    @staticmethod
    def _allow_private(feed: FeedConfig, peer: str | None) -> bool:
        """May this feed's links reach private addresses? With `auto`, only when the feed itself
        came from one: the address its answer came from decides, and an unknown address is public."""
        if feed.private_links != "auto":
            return feed.private_links == "allow"
        return peer is not None and not is_public_address(peer)

    async def _article(self, fetcher: Fetcher, feed: FeedConfig, item: Item, allow_private: bool) -> Article:
        """A feed's item as an article: its page's text when full_text, else (or when the page
        cannot be used, with the reason in `error`) the feed's own text."""
        extracted, error = None, None
        if feed.full_text and item.link:
            try:
                extracted = await self._page(fetcher, feed, item.link, allow_private)
            except FeedError as exc:
                error = str(exc)
                log.info("page not used", extra={"feed": feed.name, "url": item.link, "error": exc.reason})
            except Exception as exc:  # one odd link must not fail the feed's other articles
                error = f"fetch: {feed.name}: {type(exc).__name__}: {exc}"
                log.warning("page failed unexpectedly", extra={"feed": feed.name, "url": item.link, "error": repr(exc)})
        article = self._tagged(feed, item, extracted)
        article.error = error
        return article

    def _tagged(self, feed: FeedConfig, item: Item, extracted: Extracted | None, listing: bool = False) -> Article:
        article = Article(
            url=strip_tracking(item.link),  # the link shown: as the site gave it, scheme and all
            url_key=canonical_url(item.link),  # the identity: the same article whatever its tracking tags
            link=item.link,
            guid=item.guid or "",
            feed=feed.name,
            title=item.title,
            text=item.summary,
            summary=item.summary,
            author=item.author,
            published=item.published,
            text_source="feed",
        )
        if extracted is not None:
            article.text = extracted.text
            article.text_source = "page"
            # The page's rel=canonical/og:url names the article better than a feed's redirect
            # or tracking link, when it is on the same site: its key becomes the article's, and the
            # page's URL as served its link. When it names the same key the feed's link stays,
            # the address just fetched (a protocol-relative canonical reads as https).
            page_key = canonical_url(extracted.canonical)
            if (page_key and article.url_key and page_key != article.url_key
                    and urlsplit(page_key).hostname == urlsplit(article.url_key).hostname):
                article.url_key = page_key
                article.url = strip_tracking(extracted.canonical)
            # A section page's link text may be a teaser or "Read more": the page's title wins there.
            article.title = (extracted.title if listing or not article.title else article.title) or article.title or ""
            article.author = article.author or extracted.author
            article.published = article.published or extracted.date
            article.lang = extracted.lang
        if article.lang is None and article.text:
            article.lang = extract_stage.language(article.text)
        # Folded and split once, for the rules, the places and the story fingerprint alike.
        tokens = {"title": tokenize(article.title), "text": tokenize(article.text)}
        article.text_hash, article.signature = fingerprint(folded=tokens["text"].folded)
        article.matches, article.places = rules_stage.tag(
            self.rules, self.gazetteer, title=article.title, text=article.text, lang=article.lang, feed=feed.name,
            tokens=tokens,
        )
        return article

    async def _page(self, fetcher: Fetcher, feed: FeedConfig, link: str, allow_private: bool, polite: bool = False) -> Extracted:
        """The extracted page, fetched once per cycle whichever feeds list it (with whatever tracking
        tags): the feeds after the first share its answer, or its error."""
        key = canonical_url(link) or link
        fetch = self._pages.get(key)
        if fetch is None:
            fetch = self._pages[key] = asyncio.ensure_future(self._fetch_page(fetcher, feed, link, allow_private, polite))
        else:
            log.info("page already fetched this cycle", extra={"feed": feed.name, "url": link})
        return await asyncio.shield(fetch)  # a feed cancelled at SIGTERM does not cancel the others' fetch

    async def _fetch_page(self, fetcher: Fetcher, feed: FeedConfig, link: str, allow_private: bool,
                          polite: bool) -> Extracted:
        if not link.lower().startswith(("http://", "https://")):
            raise FetchError(feed.name, "not an http(s) link", url=link)
        response = await fetcher.fetch(Request(
            link, feed=feed.name, max_bytes=feed.max_page_size, deadline=feed.timeout,
            accept=PAGE_ACCEPT, public_only=not allow_private, polite=polite,
        ))
        if not extract_stage.is_page(response.content_type):
            raise ExtractError(feed.name, f"not a web page ({response.content_type.split(';')[0]})", url=link)
        try:
            extracted: Extracted = await self.workers.run(
                self.config.fetch.extract_timeout,
                functools.partial(extract_stage.extract, url=response.url, content_type=response.content_type,
                                  fast=self.config.fetch.fast_extraction),
                response.body,
            )
        except TaskFailed as exc:
            raise ExtractError(feed.name, str(exc), url=link, permanent=False) from None
        except Exception as exc:  # trafilatura and lxml raise many kinds
            raise ExtractError(feed.name, f"{type(exc).__name__}: {exc}", url=link) from None
        if not extracted.text:
            raise ExtractError(feed.name, "the page yielded no article text", url=link)
        return extracted

    # ---------------------------------------------------------------------------------- service

    async def serve(self, notifier: Notifier | None = None, early: EarlySignals | None = None) -> None:
        """Poll due feeds once a tick until told to stop, keeping systemd informed through
        `notifier`: READY=1 once started, STATUS after each tick, WATCHDOG=1 while the event loop
        runs, STOPPING=1 on the way out. SIGHUP reloads the config and rules between ticks; what
        `early` caught while starting is acted on now (a stop at once, a reload once ready)."""
        notifier = self.notifier = notifier or Notifier({})
        self.background_mail = True
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        if early is not None and early.stop:
            log.info("stopping: told to while starting")
            self.stop()
        if early is not None and early.reload:
            self.request_reload()
        # The language model (about 70 MB) is otherwise loaded the first time a page yields no text,
        # perhaps hours later, where it would look like a leak; load it before READY instead.
        extract_stage.language("warm up")
        # The pings come from a task on the same event loop as the cycle: a loop blocked in a
        # synchronous call (a C extension spinning) misses them and systemd restarts the daemon.
        # Everything a cycle awaits has its own deadline, except the archive's writes, which wait
        # off the loop for as long as another writer holds the lock.
        watchdog = asyncio.create_task(self._watchdog(notifier)) if notifier.watchdog else None
        scheduler = schedule.Scheduler()
        jobs: list[Callable[[], Awaitable]] = [self.poll_due]  # the first tick runs at once
        scheduler.every(TICK_SECONDS).seconds.do(jobs.append, self.poll_due)
        log.info("daemon started", extra={"feeds": len(self.config.feeds), "database": str(self.config.database)})
        if not len(self.rules):
            log.warning("no rules: articles are archived but none will match", extra={"rules": str(self.config.rules)})
        notifier.send(ready=1, status=f"started: {self.status()}; polling")
        try:
            while not self.stopping.is_set():
                if self._reload_wanted:
                    self._reload_wanted = False
                    notifier.send(reloading=1, status="reloading the config")
                    if self.reload():
                        jobs.append(self.poll_due)  # a feed just added is polled now, not at the next tick
                    notifier.send(ready=1, status=self.status())
                while jobs and not self.stopping.is_set() and not self._reload_wanted:
                    try:
                        self.last_cycle = await jobs.pop(0)()
                    except StoreBusy as exc:
                        # another writer (a rematch, a sqlite shell) held the lock: try at the next tick
                        log.warning("tick skipped: the database is locked", extra={"error": str(exc)})
                    except StoreFull as exc:
                        self._archive_full(exc)
                    notifier.send(status=self.status())
                scheduler.run_pending()
                if jobs or self._reload_wanted:
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=max(0.1, scheduler.idle_seconds or 1.0))
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            notifier.send(stopping=1, status="stopping: the feeds in flight are stored")
            if watchdog is not None:
                watchdog.cancel()
            if self._mailing is not None and not self._mailing.done():
                # a digest in the hands of the mail server is let finish within the stop's grace
                # (if the process ends first, its row says 'sending', which counts as sent)
                left = STOP_GRACE - (time.monotonic() - (self._stop_at or time.monotonic()))
                await asyncio.wait([self._mailing], timeout=max(0.1, left))
        log.info("daemon stopped")

    async def _watchdog(self, notifier: Notifier) -> None:
        """WATCHDOG=1 every third of WatchdogSec, and the STATUS line whenever it changes between
        ticks (the archive becoming busy while a cycle waits to store)."""
        shown = None
        while True:
            status = self.status()
            if status != shown and self.last_cycle is not None:
                notifier.send(watchdog=1, status=status)
                shown = status
            else:
                notifier.send(watchdog=1)
            await asyncio.sleep(notifier.watchdog / 3)

    def request_reload(self) -> None:
        log.info("reload requested (SIGHUP): applied once the cycle in hand is done")
        self._reload_wanted = True
        self._wake.set()

    def reload(self) -> bool:
        """Re-read the config file and the rules. Everything is checked before anything changes:
        on any error the running config stays and the error is logged with its file and line."""
        try:
            config = config_mod.load(self.config.path)
            rules = rules_stage.load_rules(config.rules)
        except (ConfigError, RuleError, OSError, ValueError) as exc:
            log.error("reload refused, the running config stays", extra={"error": str(exc)})
            return False
        if config.database != self.config.database:
            log.error("reload refused, the running config stays",
                      extra={"error": f"{config.path}: database: changing the archive needs a restart"})
            return False
        pool = ("extract_workers", "extract_memory", "worker_tasks")
        later = [key for key in pool if getattr(config.fetch, key) != getattr(self.config.fetch, key)]
        if later:  # the worker pool is built once; these need a new one
            log.warning("taken at the next restart", extra={"keys": ",".join(f"fetch.{k}" for k in later)})
        # new feeds become due now, removed ones inactive; the same feeds need no write (which
        # would wait while another writer holds the archive)
        self._synced = self._synced and config.feeds == self.config.feeds
        self.config, self.rules = config, rules
        self.archive.store.story_window = self.mail.store.story_window = config.story_window
        log.info("config reloaded", extra={"feeds": len(config.feeds), "rules": len(rules)})
        return True

    def status(self) -> str:
        """One line for `systemctl status`: the last cycle and the next digest."""
        stats = self.last_cycle
        parts = [f"{len(self.config.feeds)} feeds, {len(self.rules)} rules"]
        if stats is not None:
            parts = [f"polled {stats.feeds} feeds ({stats.failed} failed), {stats.articles} new articles "
                     f"at {self.clock().strftime('%H:%M')} UTC"]
        if not len(self.rules):
            parts.insert(0, f"NO RULES in {self.config.rules}: nothing is matched")
        busy = self.archive.busy_for()
        if busy is not None and busy >= writer_mod.BUSY_WARN_AFTER:
            parts.insert(0, f"ARCHIVE BUSY: another writer has held the lock for {busy:.0f} s; writes wait")
        if self.full is not None:
            parts.insert(0, f"ARCHIVE FULL: {self.config.database}, {self.store.free_bytes() / 2**20:,.0f} MiB free; "
                            "not polling until a write succeeds")
        slot = self._digest_slot(self.clock())
        if slot is not None:
            upcoming = (slot + timedelta(days=1)).astimezone(ZoneInfo(self.config.digest.timezone))
            parts.append(f"next digest {upcoming:%H:%M} {self.config.digest.timezone}")
        return "; ".join(parts)

    async def sync(self) -> None:
        """Bring the feeds and places tables in line with the config and the gazetteer."""
        await self.archive.run(Store.sync_feeds, self.config.feeds, self.clock())
        await self.archive.run(Store.sync_places, self.gazetteer.places)
        self._synced = True

    async def run_once(self, progress: Callable[[PollResult], None] | None = None) -> CycleStats:
        """Every configured feed polled once, due or not."""
        await self.sync()
        stats = await self.cycle(self.config.feeds, progress)
        await self.maintain()
        return stats

    async def maintain(self) -> None:
        """Retention after a cycle: the store prunes and vacuums when due (it logs what it did and
        skips while another writer holds the lock). A VACUUM of a large archive takes minutes, on
        the writer's thread: storing waits for it, the loop and its watchdog pings do not."""
        try:
            await self.archive.run(Store.maintain, self.clock(), self.config.archive)
        except StoreError as exc:  # a full disk, say: the archive itself is still there; next cycle tries again
            log.error("retention failed", extra={"error": str(exc)})

    def close(self) -> None:
        """End the archive's threads: the writes queued are made (a stop waits at most a few
        seconds for them), then the connections are closed."""
        # The stop's grace is spent by now: a VACUUM still running gets a second more, then is
        # interrupted (rolled back); a mail thread stuck in a silent SMTP server is left behind.
        self.archive.close(1.0)  # its store is the caller's, to close
        if self.mail.close(0.5):
            self.mail.store.close()
        self.store.close()

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _digest_slot(self, now: datetime) -> datetime | None:
        """The latest scheduled digest time at or before now (UTC), or None when no digest is set up."""
        settings = self.config.digest
        if not (settings and settings.to and settings.sender and settings.smtp):
            return None
        local = now.astimezone(ZoneInfo(settings.timezone))
        hour, minute = (int(part) for part in settings.time.split(":"))
        slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if slot > local:
            slot -= timedelta(days=1)
        return slot.astimezone(timezone.utc)

    async def digest_if_due(self) -> bool:
        """Send the digest when its time has come and its period has not been sent; a run missed
        while the daemon was down is caught up at start; a refusal is retried with backoff."""
        now = self.clock()
        slot = self._digest_slot(now)
        if slot is None or (self._digest_retry_at is not None and now < self._digest_retry_at):
            return False
        last = self.store.last_digest_end() or self.started  # a fresh archive waits for its first slot
        if last >= slot:
            return False
        try:
            outcome = await self.mail.run(digest_stage.deliver, self.config, list(self.rules.rules), now)
        except (digest_stage.DigestError, StoreBusy) as exc:
            self._digest_failures += 1
            delay = min(6 * 3600, 300 * 2 ** (self._digest_failures - 1))
            self._digest_retry_at = now + timedelta(seconds=delay)
            log.warning("digest not sent, retrying later", extra={"error": str(exc), "retry_in": delay})
            return False
        self._digest_failures, self._digest_retry_at = 0, None
        log.info("digest sent" if outcome.sent else "digest period empty",
                 extra={"stories": outcome.digest.stories, "hits": outcome.digest.hits})
        return outcome.sent

    async def poll_due(self) -> CycleStats:
        if self.full is not None:
            # Nothing is fetched that could not be stored: each tick tries a write, and polling
            # resumes on its own once one succeeds (space freed, the quota raised).
            if not await self.archive.run(Store.writable):
                self._archive_full(self.full)
                return CycleStats()
            log.info("archive writable again: polling resumes", extra={"database": str(self.config.database)})
            self.full = None
        if not self._synced:  # once per config: the tables do not change between ticks
            await self.sync()
        # Feeds due before the next tick's midpoint go now: a poll lands a little after its tick,
        # so `next_poll` (poll time + interval) would otherwise just miss the tick it was meant
        # for, and every interval would grow by a whole tick (60 s polled every 120 s).
        due = set(self.store.due(self.clock() + timedelta(seconds=TICK_SECONDS / 2)))
        try:
            stats = await self.cycle(feed for feed in self.config.feeds if feed.name in due)
        except StoreFull as exc:  # the feeds are not to blame: none is marked failed, all stay due
            self._archive_full(exc)
            return CycleStats()
        await self.maintain()
        if not self.background_mail:
            await self.send_mail()
        elif self._mailing is None or self._mailing.done():
            self._mailing = asyncio.create_task(self.send_mail())
        return stats

    async def send_mail(self) -> None:
        """The alerts, then the digest if it is due. In the service this runs beside the next
        ticks: a mail server that answers slowly (or not at all, until the timeout) holds up no poll."""
        try:
            await self.send_alerts()
            await self.digest_if_due()
        except StoreError as exc:  # the archive refused the delivery's row: nothing was sent, tried again next tick
            log.error("mail not sent: the archive refused its record", extra={"error": str(exc)})

    def _archive_full(self, error: Exception) -> None:
        """One error a tick while the archive cannot grow, naming the database and the free space."""
        self.full = error
        free = self.store.free_bytes()
        log.error("archive full: not polling until a write succeeds",
                  extra={"database": str(self.config.database), "free_mib": round(free / 2**20, 1),
                         "needs_mib": round(MIN_FREE_BYTES / 2**20), "error": str(error)})

    async def send_alerts(self) -> int:
        """Mail the new hits of `alert: immediate` rules, batched per cycle; a refusal is retried
        at the next cycle (the hits stay unmarked)."""
        settings = self.config.digest
        if not (settings and settings.to and settings.sender and settings.smtp):
            return 0
        try:
            sent = await self.mail.run(digest_stage.alert, self.config, list(self.rules.rules), self.clock(), self.started)
        except (digest_stage.DigestError, StoreBusy) as exc:
            log.warning("alert not sent, retrying next cycle", extra={"error": str(exc)})
            return 0
        if sent:
            log.info("alert sent", extra={"hits": sent})
        if settings.spike_alert:
            try:
                spiking = await self.mail.run(digest_stage.spike_alert, self.config, list(self.rules.rules), self.clock(),
                                              self._spikes_mailed)
            except (digest_stage.DigestError, StoreBusy) as exc:
                log.warning("spike alert not sent, retrying next cycle", extra={"error": str(exc)})
            else:
                for rule in spiking:
                    log.info("spike alert sent", extra={"rule": rule})
        return sent

    def stop(self) -> None:
        log.info("stopping: finishing the feeds in flight")
        self.stopping.set()
        self._stop_at = time.monotonic()
        self.archive.stop_waiting()
        self._wake.set()
