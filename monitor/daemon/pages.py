"""daemon: a cycle's article pages, fetched and extracted once whichever feeds list them."""

from __future__ import annotations

import asyncio
import functools
import logging

from .. import extract as extract_stage
from ..config import FeedConfig, FetchConfig
from ..dedup import canonical_url
from ..errors import ExtractError, FeedError, FetchError
from ..fetch import PAGE_ACCEPT, Fetcher
from ..model import Article, Extracted, Item, Request
from ..places import Gazetteer
from ..rules import RuleSet
from ..workers import TaskFailed, Workers
from .article import build_article, tag

log = logging.getLogger("monitor")


class Pages:
    """This cycle's page fetches by canonical URL: a page two feeds list (once with utm_ tags) is
    fetched once, the second feed awaits the first's fetch. `close()` when the cycle ends."""

    def __init__(self, fetcher: Fetcher, workers: Workers, settings: FetchConfig, rules: RuleSet, gazetteer: Gazetteer):
        self.fetcher, self.workers, self.settings = fetcher, workers, settings
        self.rules, self.gazetteer = rules, gazetteer
        self._fetches: dict[str, asyncio.Task] = {}

    def close(self) -> None:
        for fetch in self._fetches.values():  # those only a cancelled feed awaited
            fetch.cancel()
        self._fetches.clear()

    def tagged(self, feed: FeedConfig, item: Item, page: Extracted | None, *, listing: bool = False,
               error: str | None = None) -> Article:
        return tag(build_article(feed.name, item, page, listing=listing, error=error), self.rules, self.gazetteer)

    async def article(self, feed: FeedConfig, item: Item, allow_private: bool) -> Article:
        """A feed's item as an article: its page's text when full_text, else (or when the page
        cannot be used, with the reason in `error`) the feed's own text."""
        extracted, error = None, None
        if feed.full_text and item.link:
            try:
                extracted = await self.page(feed, item.link, allow_private)
            except FeedError as exc:
                error = str(exc)
                log.info("page not used", extra={"feed": feed.name, "url": item.link, "error": exc.reason})
            except Exception as exc:  # one odd link must not fail the feed's other articles
                error = f"fetch: {feed.name}: {type(exc).__name__}: {exc}"
                log.warning("page failed unexpectedly", extra={"feed": feed.name, "url": item.link, "error": repr(exc)})
        return self.tagged(feed, item, extracted, error=error)

    async def page(self, feed: FeedConfig, link: str, allow_private: bool, polite: bool = False) -> Extracted:
        """The extracted page, fetched once per cycle whichever feeds list it (with whatever tracking
        tags): the feeds after the first share its answer, or its error."""
        key = canonical_url(link) or link
        fetch = self._fetches.get(key)
        if fetch is None:
            fetch = self._fetches[key] = asyncio.ensure_future(self._fetch(feed, link, allow_private, polite))
        else:
            log.info("page already fetched this cycle", extra={"feed": feed.name, "url": link})
        return await asyncio.shield(fetch)  # a feed cancelled at SIGTERM does not cancel the others' fetch

    async def _fetch(self, feed: FeedConfig, link: str, allow_private: bool, polite: bool) -> Extracted:
        if not link.lower().startswith(("http://", "https://")):
            raise FetchError(feed.name, "not an http(s) link", url=link)
        response = await self.fetcher.fetch(Request(
            link, feed=feed.name, max_bytes=feed.max_page_size, deadline=feed.timeout,
            accept=PAGE_ACCEPT, public_only=not allow_private, polite=polite,
        ))
        if not extract_stage.is_page(response.content_type):
            raise ExtractError(feed.name, f"not a web page ({response.content_type.split(';')[0]})", url=link)
        try:
            extracted: Extracted = await self.workers.run(
                self.settings.extract_timeout,
                functools.partial(extract_stage.extract, url=response.url, content_type=response.content_type,
                                  fast=self.settings.fast_extraction),
                response.body,
            )
        except TaskFailed as exc:
            raise ExtractError(feed.name, str(exc), url=link, permanent=False) from None
        except Exception as exc:  # trafilatura and lxml raise many kinds
            raise ExtractError(feed.name, f"{type(exc).__name__}: {exc}", url=link) from None
        if not extracted.text:
            raise ExtractError(feed.name, "the page yielded no article text", url=link)
        return extracted
