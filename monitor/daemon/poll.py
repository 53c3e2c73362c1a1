"""daemon: one poll of one source: fetch → parse → new items → pages → extract → match → store.

A feed's new items become articles (their pages fetched and extracted when full_text), committed
ARTICLE_BATCH at a time as they are built; a sitemap's or a section page's recent links go the same
way (`crawl`). What the poll leaves to write on the feed's row is its PollResult; when to come back
is its Outcome, which the cycle turns into the next poll.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Callable

from .. import crawl
from ..config import FeedConfig, FetchConfig
from ..dedup import canonical_url
from ..errors import FeedError, ParseError, StoreError, StoreUnavailable, classify
from ..fetch import CRAWL_ACCEPT, FEED_ACCEPT, max_age_seconds
from ..model import FeedState, Item, ParsedFeed, PollResult, Request, Response, iso
from ..store import Store
from ..workers import TaskFailed, Workers
from ..writer import Writer
from .pages import Pages
from .policy import Outcome, allow_private, newest_first

log = logging.getLogger("monitor")
MAX_CHILD_SITEMAPS = 5  # of a sitemap index, the newest few: news indexes list one sitemap a day
MIN_ARTICLE_WORDS = 80  # a section page's link whose page has less text is navigation, not news
ARTICLE_BATCH = 50  # a feed's articles are built and committed this many at a time
_KINDS = {"page": "page", "sitemap": "sitemap", "news-sitemap": "sitemap", "sitemapindex": "sitemap"}


class Poller:
    """Polls sources through one cycle's fetcher and pages. `indexes` (sitemap feed → the sitemaps
    its index lists, [] if none) outlives the cycle: the daemon keeps it."""

    def __init__(self, settings: FetchConfig, store: Store, archive: Writer, workers: Workers, pages: Pages, *,
                 clock: Callable[[], datetime], stopping: asyncio.Event, indexes: dict[str, list[str]]):
        self.settings, self.store, self.archive, self.workers, self.pages = settings, store, archive, workers, pages
        self.clock, self.stopping, self.indexes = clock, stopping, indexes

    async def poll(self, feed: FeedConfig, state: FeedState) -> tuple[PollResult, Outcome, datetime]:
        """The poll's result, what it says about the next one, and when the answer came."""
        kind = feed.type if feed.type != "auto" else (state.kind or "auto")
        # A sitemap index's own body rarely changes (the same /sitemap-news.xml, undated) while the
        # sitemaps it lists do: its sitemaps are remembered and read even when it answers 304. After a
        # restart the list is unknown, so that one poll asks without validators.
        sitemaps = self.indexes.get(feed.name)
        full = state.polls_since_full + 1 >= feed.revalidate_every or (kind == "sitemap" and sitemaps is None)
        response = await self.pages.fetcher.fetch(_request(feed, state, kind, full))
        now = self.clock()
        max_age = max_age_seconds(response.headers.get("cache-control"))
        result = PollResult(
            feed=feed.name,
            status=response.status,
            etag=response.headers.get("etag") or state.etag,
            last_modified=response.headers.get("last-modified") or state.last_modified,
            body_hash=state.body_hash,
            polls_since_full=0 if full else state.polls_since_full + 1,
            hint=state.hint,
        )
        digest = None if response.not_modified else hashlib.sha256(response.body).hexdigest()
        if digest is None or digest == state.body_hash:  # 304, or the server ignored our validators
            result.unchanged = True
            if not sitemaps:
                return result, Outcome(hint=result.hint, max_age=max_age), now
            parsed = ParsedFeed(format="sitemapindex", link=feed.url, sitemaps=sitemaps)
        else:
            parsed = await self.parse(feed, kind, response)
            if parsed.format in _KINDS and parsed.format != "page":
                self.indexes[feed.name] = parsed.sitemaps
            result.body_hash, result.title, result.hint = digest, parsed.title or None, parsed.ttl
            result.problems = "; ".join(parsed.problems)[:2000] or None
        found = _KINDS.get(parsed.format, "feed")
        # What an unsniffed URL served is remembered only once it held something: a first answer
        # that is an empty page or an interstitial must not make a feed a section page for good.
        result.kind = found if (feed.type != "auto" or state.kind or parsed.items or parsed.sitemaps) else None
        private = allow_private(feed, response.peer)
        if found == "feed":
            new = await self._feed_items(feed, parsed, private, result)
        else:
            new = await self._crawled_items(feed, parsed, private, result, now, listing=found == "page")
        log.info("feed polled", extra={"feed": feed.name, "url": feed.url, "status": response.status, "kind": result.kind,
                                       "items": len(parsed.items), "new": new})
        return result, Outcome(hint=result.hint, max_age=max_age), now

    async def _feed_items(self, feed: FeedConfig, parsed: ParsedFeed, private: bool, result: PollResult) -> int:
        """A feed's new items stored as articles, its changed ones as updates; returns how many were new."""
        fresh = newest_first(self.new_items(feed, parsed.items))
        items = fresh[: feed.max_items]  # one huge feed must not starve the others: the rest next poll
        changed = self.store.changed(feed.name, parsed.items)  # stored items whose title or text changed
        updated = await asyncio.gather(*(self.pages.article(feed, item, private) for _id, item in changed))
        result.updates = [(article_id, article) for (article_id, _item), article in zip(changed, updated)]
        done = await self._articles_in_batches(feed, items, private, result)
        if done < len(fresh):
            # Items left by the cap: no validators and no body hash are kept, so the
            # next poll reads the feed again instead of taking a 304 for "nothing new".
            result.etag = result.last_modified = result.body_hash = None
            log.info("feed items left for the next poll", extra={"feed": feed.name, "items": len(fresh) - done})
        return len(items)

    async def _crawled_items(self, feed: FeedConfig, parsed: ParsedFeed, private: bool, result: PollResult,
                             now: datetime, listing: bool) -> int:
        """A sitemap's or a section page's recent new links crawled; returns how many were new."""
        if parsed.sitemaps:  # an index: the newest sitemaps it lists
            parsed.items = await self._child_sitemaps(feed, parsed.sitemaps, private)
        since = iso(now - timedelta(seconds=feed.max_age))
        # recent first (no I/O), then the store's look-up of those only, then the cap on new ones
        recent = crawl.recent(parsed.items, since, len(parsed.items))
        items = self.new_items(feed, recent)[: feed.max_items]
        await self.crawl(feed, result, items, private, listing=listing)
        return len(items)

    async def parse(self, feed: FeedConfig, kind: str, response: Response) -> ParsedFeed:
        try:
            return await self.workers.run(
                self.settings.extract_timeout,
                functools.partial(crawl.parse, kind=kind, url=response.url, content_type=response.content_type,
                                  feed=feed.name, follow=feed.follow),
                response.body,
            )
        except TaskFailed as exc:
            raise ParseError(feed.name, str(exc), url=feed.url, permanent=False) from None

    async def _child_sitemaps(self, feed: FeedConfig, urls: list[str], private: bool) -> list[Item]:
        """The items of an index's newest sitemaps. One that fails is noted and the others go on."""
        items: list[Item] = []
        for url in urls[:MAX_CHILD_SITEMAPS]:
            try:
                response = await self.pages.fetcher.fetch(Request(
                    url, feed=feed.name, max_bytes=feed.max_feed_size, deadline=feed.timeout,
                    accept=CRAWL_ACCEPT, public_only=not private, polite=True))
                child = await self.parse(feed, "sitemap", response)
            except FeedError as exc:
                log.warning("sitemap not read", extra={"feed": feed.name, "url": url, "error": str(exc)})
                continue
            items.extend(child.items)
        return items

    async def crawl(self, feed: FeedConfig, result: PollResult, items: list[Item], private: bool, listing: bool) -> None:
        """New links of a sitemap or page through the same page fetch → extract → match path as a
        feed's items. A link that turns out not to be an article (gone, forbidden by robots.txt, a
        page with too little text: navigation) is remembered and never fetched again; one that
        failed for a passing reason is left for the next poll, when it is still listed."""
        gate = asyncio.Semaphore(self.settings.per_host)  # the crawl delay spaces them anyway

        async def one(item: Item) -> None:
            async with gate:
                if self.stopping.is_set():  # at SIGTERM the links not begun are left to the next poll
                    return
                await self._link(feed, result, item, private, listing)

        await asyncio.gather(*(one(item) for item in items))

    async def _link(self, feed: FeedConfig, result: PollResult, item: Item, private: bool, listing: bool) -> None:
        try:
            extracted = await self.pages.page(feed, item.link, private, polite=True)
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
        result.articles.append(self.pages.tagged(feed, item, extracted, listing=listing))

    async def _articles_in_batches(self, feed: FeedConfig, items: list[Item], private: bool,
                                   result: PollResult) -> int:
        """Build the items' articles ARTICLE_BATCH at a time and commit each batch as it is built.
        Returns how many items were done."""
        done = 0
        for start in range(0, len(items), ARTICLE_BATCH):
            # At SIGTERM batches go on for STOP_GRACE, then the poll is cancelled (Cycle.until_stopped):
            # the batches stored stay, the feed's row is not written, so the feed is due again at
            # the next start and its other items are taken then.
            batch = items[start:start + ARTICLE_BATCH]
            built = await asyncio.gather(*(self.pages.article(feed, item, private) for item in batch))
            try:
                result.stored += len(await self.archive.run(Store.save_articles, list(built), self.clock()))
            except StoreUnavailable:
                raise
            except StoreError as exc:
                raise FeedError(feed.name, f"batch not stored: {exc}") from None
            done += len(batch)
        return done

    def new_items(self, feed: FeedConfig, items: list[Item]) -> list[Item]:
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


def _request(feed: FeedConfig, state: FeedState, kind: str, full: bool) -> Request:
    """The source's GET: conditional unless this poll reads it in full. Sitemaps and pages are
    crawled politely (robots.txt, crawl delay). A URL not sniffed yet is asked for once like a
    feed: the user named it; its links are crawled politely if it is a page."""
    return Request(
        feed.url,
        feed=feed.name,
        max_bytes=feed.max_feed_size,
        deadline=feed.timeout,
        accept=FEED_ACCEPT if kind == "feed" else CRAWL_ACCEPT,
        etag=None if full else state.etag,
        last_modified=None if full else state.last_modified,
        polite=kind in ("sitemap", "page"),
    )
