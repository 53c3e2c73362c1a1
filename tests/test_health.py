"""health: a feed's state in `monitor feeds`, from its row."""

from __future__ import annotations

import pytest

from monitor.health import state


def row(**fields):
    return {"error_count": 0, "failure": None, "last_poll": "2026-12-01T10:00:00Z", **fields}


@pytest.mark.parametrize("feed, stale_since, expected", [
    (row(error_count=2, failure="permanent"), None, ("failing", "failing (permanent)")),
    (row(error_count=1), None, ("failing", "failing (temporary)")),
    (row(error_count=1), "2026-11-20T08:00:00Z", ("failing", "failing (temporary)")),  # failing says more than stale
    (row(), "2026-11-20T08:00:00Z", ("stale", "stale: nothing new since 2026-11-20T08:00:00Z")),
    (row(last_poll=None), None, ("new", "new")),
    (row(), None, ("ok", "ok")),
])
def test_a_feeds_state(feed, stale_since, expected):
    assert state(feed, stale_since) == expected
