"""The daemon's decisions as tables: whether a failure passes, and when a feed is polled next."""

from __future__ import annotations

import pickle

import pytest

from monitor.errors import (PARSE, PERMANENT, TEMPORARY, DigestError, ExtractError, FeedError, FetchError, Failure,
                            ParseError, StoreBusy, classify)


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
