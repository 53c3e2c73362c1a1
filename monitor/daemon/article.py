"""daemon: an item and its page (if one was used) as an article, then tagged.

`build_article` is pure: which URL names the article, which title, text, author and date win.
`tag` adds what the CPU works out from the text: its language when the page did not say, the
story fingerprint, the rules' matches and the places.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .. import extract as extract_stage
from .. import rules as rules_stage
from ..dedup import canonical_url, fingerprint, strip_tracking
from ..index import tokenize
from ..model import Article, Extracted, Item
from ..places import Gazetteer
from ..rules import RuleSet


def build_article(feed: str, item: Item, page: Extracted | None, *, listing: bool = False,
                  error: str | None = None) -> Article:
    """The article of `feed`'s item: the page's text when there is a page, else the item's own
    (with `error`, why the page could not be used). `listing`: the item is a section page's link."""
    article = Article(
        url=strip_tracking(item.link),  # the link shown: as the site gave it, scheme and all
        url_key=canonical_url(item.link),  # the identity: the same article whatever its tracking tags
        link=item.link,
        guid=item.guid or "",
        feed=feed,
        title=item.title,
        text=item.summary,
        summary=item.summary,
        author=item.author,
        published=item.published,
        text_source="feed",
        error=error,
    )
    if page is None:
        return article
    article.text = page.text
    article.text_source = "page"
    # The page's rel=canonical/og:url names the article better than a feed's redirect
    # or tracking link, when it is on the same site: its key becomes the article's, and the
    # page's URL as served its link. When it names the same key the feed's link stays,
    # the address just fetched (a protocol-relative canonical reads as https).
    page_key = canonical_url(page.canonical)
    if (page_key and article.url_key and page_key != article.url_key
            and urlsplit(page_key).hostname == urlsplit(article.url_key).hostname):
        article.url_key = page_key
        article.url = strip_tracking(page.canonical)
    # A section page's link text may be a teaser or "Read more": the page's title wins there.
    article.title = (page.title if listing or not article.title else article.title) or article.title or ""
    article.author = article.author or page.author
    article.published = article.published or page.date
    article.lang = page.lang
    return article


def tag(article: Article, rules: RuleSet, gazetteer: Gazetteer) -> Article:
    """The article with its language (when the page did not say), fingerprint, matches and places."""
    if article.lang is None and article.text:
        article.lang = extract_stage.language(article.text)
    # Folded and split once, for the rules, the places and the story fingerprint alike.
    tokens = {"title": tokenize(article.title), "text": tokenize(article.text)}
    article.text_hash, article.signature = fingerprint(folded=tokens["text"].folded)
    article.matches, article.places = rules_stage.tag(
        rules, gazetteer, title=article.title, text=article.text, lang=article.lang, feed=article.feed,
        tokens=tokens,
    )
    return article
