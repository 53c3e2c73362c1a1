"""The daemon's decisions as tables: whether a failure passes, and when a feed is polled next."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from monitor.errors import (PARSE, PERMANENT, TEMPORARY, DigestError, ExtractError, FeedError, FetchError, Failure,
                            ParseError, StoreBusy, classify)
from monitor.config import DigestConfig, FeedConfig, SmtpConfig, default_fetch
from monitor.daemon.article import build_article
from monitor.daemon.policy import (Outcome, allow_private, digest_slot, mail_retry_delay, newest_first,
                                   next_poll, poll_delay, round_robin_by_host)
from monitor.model import Extracted, FeedState, Item


@pytest.mark.parametrize(
    "error, page, expected",
    [
        (FetchError("f", "timed out"), False, Failure(TEMPORARY)),
        (FetchError("f", "503", status=503, retry_after=120.0), False, Failure(TEMPORARY, 120.0)),
        (FetchError("f", "429", status=429, retry_after=30.0), True, Failure(TEMPORARY, 30.0)),
        (FetchError("f", "404", status=404, permanent=True), False, Failure(PERMANENT)),
        (FetchError("f", "410", status=410, permanent=True), True, Failure(PERMANENT)),
        (FetchError("f", "link refused", permanent=True), True, Failure(PERMANENT)),
        (FetchError("f", "robots.txt forbids this URL", permanent=True), True, Failure(PERMANENT)),
        (FetchError("f", "robots.txt could not be read", retry_after=600.0), True, Failure(TEMPORARY, 600.0)),
        # a source behind a firewall may pass; an article page behind a login does not
        (FetchError("f", "401", status=401), False, Failure(TEMPORARY)),
        (FetchError("f", "403", status=403), False, Failure(TEMPORARY)),
        (FetchError("f", "401", status=401), True, Failure(PERMANENT)),
        (FetchError("f", "403", status=403), True, Failure(PERMANENT)),
        (FetchError("f", "500", status=500), True, Failure(TEMPORARY)),
        (ParseError("f", "not a feed"), False, Failure(PARSE)),
        (ParseError("f", "worker timed out", permanent=False), False, Failure(TEMPORARY)),
        (ExtractError("f", "the page yielded no article text"), True, Failure(PERMANENT)),
        (ExtractError("f", "worker died", permanent=False), True, Failure(TEMPORARY)),
        (FeedError("f", "batch not stored: x"), False, Failure(TEMPORARY)),
        (DigestError("digest: localhost:25: ConnectionRefusedError"), False, Failure(TEMPORARY)),
        (StoreBusy("database is locked"), False, Failure(TEMPORARY)),
    ],
)
def test_classify(error, page, expected):
    assert classify(error, page=page) == expected


@pytest.mark.parametrize("kind, lasting, column", [(TEMPORARY, False, "temporary"), (PERMANENT, True, "permanent"),
                                                   (PARSE, True, "permanent")])
def test_a_failure_is_stored_as_temporary_or_permanent(kind, lasting, column):
    assert (Failure(kind).lasting, Failure(kind).column) == (lasting, column)


def test_a_feed_error_keeps_its_kind_through_a_worker_process():
    error = pickle.loads(pickle.dumps(ParseError("f", "worker timed out", url="http://x/", permanent=False)))
    assert (error.permanent, error.url, str(error)) == (False, "http://x/", "parse: f: worker timed out")
    assert pickle.loads(pickle.dumps(ParseError("f", "junk"))).permanent


# ---------------------------------------------------------------------------------- next poll

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=timezone.utc)
FEED = FeedConfig(url="https://example.org/feed.rss", name="f", interval=900.0, max_interval=7200.0)
SETTINGS = replace(default_fetch(), max_backoff=6 * 3600.0, max_retry_after=86400.0, jitter=0.1)
H = 3600.0


def state(errors: int = 0) -> FeedState:
    return FeedState(name="f", url=FEED.url, error_count=errors)


@pytest.mark.parametrize(
    "errors_before, outcome, delay",
    [
        (0, Outcome(), 900.0),  # answered: the interval
        (0, Outcome(hint=1800.0), 1800.0),  # the feed's ttl stretches it
        (0, Outcome(max_age=3600.0, hint=60.0), 3600.0),  # never shortened, the longest hint wins
        (0, Outcome(hint=86400.0), 7200.0),  # up to max_interval
        (5, Outcome(), 900.0),  # an answer after failures: back to the interval
        (0, Outcome(Failure(TEMPORARY)), 1800.0),  # interval × 2ⁿ, this failure counted
        (2, Outcome(Failure(TEMPORARY)), 7200.0),
        (10, Outcome(Failure(TEMPORARY)), 6 * H),  # capped at max_backoff
        (100, Outcome(Failure(TEMPORARY)), 6 * H),  # never given up
        (0, Outcome(Failure(PARSE)), 3600.0),  # not a feed: × 4ⁿ
        (1, Outcome(Failure(PARSE)), 14400.0),
        (0, Outcome(Failure(PERMANENT)), 6 * H),  # 404, 410: the cap at once
        (0, Outcome(Failure(TEMPORARY, 3 * H)), 3 * H),  # Retry-After pushes it
        (0, Outcome(Failure(TEMPORARY, 60.0)), 1800.0),  # … but never pulls it in
        (0, Outcome(Failure(TEMPORARY, 30 * 86400.0)), 86400.0),  # capped at max_retry_after
        (0, Outcome(Failure(PERMANENT, 12 * H)), 12 * H),
    ],
)
def test_poll_delay(errors_before, outcome, delay):
    assert poll_delay(FEED, state(errors_before), outcome, SETTINGS) == delay


def test_a_permanent_failure_never_waits_less_than_the_interval():
    slow = replace(FEED, interval=12 * H, max_interval=12 * H)
    assert poll_delay(slow, state(), Outcome(Failure(PERMANENT)), SETTINGS) == 12 * H


@pytest.mark.parametrize("share, seconds", [(0.0, 900.0), (0.5, 945.0), (0.999, 989.91)])
def test_next_poll_is_put_off_by_a_share_of_the_jitter(share, seconds):
    at = next_poll(FEED, state(), Outcome(), NOW, SETTINGS, share=share)
    assert (at - NOW).total_seconds() == pytest.approx(seconds)


@pytest.mark.parametrize("failures, failure, delay", [
    (1, Failure(TEMPORARY), 300.0), (2, Failure(TEMPORARY), 600.0), (7, Failure(TEMPORARY), 19200.0), (8, Failure(TEMPORARY), 6 * H),
    (30, Failure(TEMPORARY), 6 * H), (1, Failure(TEMPORARY, 900.0), 900.0),
])
def test_a_refused_mail_is_retried_after_5_minutes_doubling_up_to_6_hours(failures, failure, delay):
    assert mail_retry_delay(failures, failure) == delay


MAIL = DigestConfig(to=("a@example.org",), sender="m@example.org", smtp=SmtpConfig(), time="07:00", timezone="Europe/Kyiv")


@pytest.mark.parametrize("now, slot", [
    (datetime(2026, 12, 8, 5, 0, tzinfo=timezone.utc), datetime(2026, 12, 8, 5, 0, tzinfo=timezone.utc)),  # 07:00 Kyiv
    (datetime(2026, 12, 8, 4, 59, tzinfo=timezone.utc), datetime(2026, 12, 7, 5, 0, tzinfo=timezone.utc)),
    (datetime(2026, 7, 8, 12, 0, tzinfo=timezone.utc), datetime(2026, 7, 8, 4, 0, tzinfo=timezone.utc)),  # summer time
])
def test_the_digest_slot_is_the_last_time_of_day_passed_in_its_timezone(now, slot):
    assert digest_slot(now, MAIL) == slot


@pytest.mark.parametrize("settings", [None, DigestConfig(), replace(MAIL, to=()), replace(MAIL, sender=None)])
def test_no_digest_slot_without_recipients_sender_and_server(settings):
    assert digest_slot(NOW, settings) is None


def test_feeds_go_in_turn_by_host():
    feeds = [FeedConfig(url=f"https://{host}/{i}", name=f"{host}{i}") for host, i in
             [("a.org", 1), ("a.org", 2), ("a.org", 3), ("b.org", 1), ("c.org", 1), ("b.org", 2)]]
    assert [f.name for f in round_robin_by_host(feeds)] == ["a.org1", "b.org1", "c.org1", "a.org2", "b.org2", "a.org3"]


def test_dated_items_newest_first_then_the_undated_in_feed_order():
    items = [Item("1", None, published="2026-12-01T00:00:00Z"), Item("2", None), Item("3", None, published="2026-12-03T00:00:00Z"),
             Item("4", None)]
    assert [i.guid for i in newest_first(items)] == ["3", "1", "2", "4"]


@pytest.mark.parametrize("mode, peer, allowed", [
    ("allow", "8.8.8.8", True), ("deny", "127.0.0.1", False), ("auto", "127.0.0.1", True),
    ("auto", "10.1.2.3", True), ("auto", "8.8.8.8", False), ("auto", None, False),
])
def test_private_links_follow_the_feeds_own_address_in_auto(mode, peer, allowed):
    assert allow_private(replace(FEED, private_links=mode), peer) is allowed


# ---------------------------------------------------------------------------------- articles

ITEM = Item("g1", "https://news.example/a/1?utm_source=rss", title="Feed title", summary="The feed's summary.",
            published="2026-12-08T10:00:00Z", author=None)


@pytest.mark.parametrize(
    "page, listing, expected",
    [
        (None, False, dict(text="The feed's summary.", text_source="feed", title="Feed title",
                           url="https://news.example/a/1", lang=None)),
        (Extracted("Page text.", title="Page title", author="A. Writer", lang="uk"), False,
         dict(text="Page text.", text_source="page", title="Feed title", author="A. Writer", lang="uk")),
        # a section page's link text may be a teaser: the page's title wins
        (Extracted("Page text.", title="Page title"), True, dict(title="Page title")),
        # the page's canonical URL names the article when it is on the same site …
        (Extracted("Page text.", canonical="https://news.example/2026/12/a-1"), False,
         dict(url="https://news.example/2026/12/a-1", link=ITEM.link)),
        # … and not when it is elsewhere
        (Extracted("Page text.", canonical="https://other.example/a-1"), False, dict(url="https://news.example/a/1")),
        (Extracted("Page text.", date="2026-12-07T00:00:00Z"), False, dict(published="2026-12-08T10:00:00Z")),
    ],
)
def test_build_article(page, listing, expected):
    article = build_article("f", ITEM, page, listing=listing)
    assert {key: getattr(article, key) for key in expected} == expected
    assert (article.feed, article.guid, article.summary) == ("f", "g1", "The feed's summary.")


def test_an_article_without_its_page_says_why():
    article = build_article("f", ITEM, None, error="fetch: f: 404 Not Found")
    assert (article.text_source, article.error) == ("feed", "fetch: f: 404 Not Found")
