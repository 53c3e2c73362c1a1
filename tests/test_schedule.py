"""Per-feed scheduling against a loopback server, on a test clock: backoff and recovery,
Retry-After, permanent failures, the feed's own hints, jitter, and stale feeds."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from conftest import Loopback, write_config
from monitor import config as config_mod
from monitor.daemon import Monitor
from monitor.rules import load_rules
from monitor.store import Store
from monitor.workers import Workers

pytestmark = pytest.mark.slow  # real processes and servers: `pytest -m "not slow"` leaves them out

START = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def rss(items: range, extra: str = "") -> bytes:
    body = "".join(f"<item><title>Item {n}</title><link>http://news.example/{n}</link><guid>g{n}</guid>"
                   f"<description>Shelling near Kharkiv, report {n}.</description></item>" for n in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{extra}{body}</channel></rss>'.encode()


def answer(handler, status: int, body: bytes = b"", headers: dict | None = None) -> None:
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class Harness:
    """A Monitor on a clock the test moves; `tick()` is the daemon's tick at that moment."""

    def __init__(self, tmp_path, feeds: list[dict], extra: str = ""):
        self.config = config_mod.load(write_config(tmp_path, feeds, extra=extra))
        self.now = START
        self.store = Store(self.config.database)
        self.workers = Workers(1)
        self.monitor = Monitor(self.config, self.store, load_rules(self.config.rules), self.workers, clock=lambda: self.now)

    def tick(self):
        return asyncio.run(self.monitor.poll_due())

    def row(self, name: str) -> dict:
        return next(self.store.db.query("SELECT * FROM feeds WHERE name=?", [name]))

    def delay(self, name: str) -> timedelta:
        return datetime.fromisoformat(self.row(name)["next_poll"].replace("Z", "+00:00")) - self.now

    def until_due(self, name: str) -> None:
        self.now += self.delay(name)

    def close(self) -> None:
        self.workers.close()
        self.store.close()


@pytest.fixture
def harness(tmp_path):
    made = []

    def make(feeds, extra=""):
        home = tmp_path / f"h{len(made)}"  # each its own config and archive
        home.mkdir()
        made.append(Harness(home, feeds, extra))
        return made[-1]

    yield make
    for h in made:
        h.close()


NO_JITTER = "fetch:\n  jitter: 0\n  max_backoff: 1h\n"


def test_backoff_then_recovery(harness):
    with Loopback() as server:
        failures = {"left": 4}

        def flaky(handler):
            if failures["left"]:
                failures["left"] -= 1
                answer(handler, 503)
            else:
                answer(handler, 200, rss(range(3)), {"Content-Type": "application/rss+xml"})

        server.routes["/flaky.rss"] = flaky
        h = harness([{"url": server.url("/flaky.rss"), "name": "flaky", "interval": "10m", "full_text": False}], NO_JITTER)
        # 503 four times: 20, 40, then the 1 h cap (never sooner, never given up)
        for expected in (20, 40, 60, 60):
            h.tick()
            row = h.row("flaky")
            assert (row["status"], row["failure"]) == (503, "temporary")
            assert h.delay("flaky") == timedelta(minutes=expected)
            hits = server.hits["/flaky.rss"]
            h.now += timedelta(minutes=expected - 1)  # not due yet: not polled
            h.tick()
            assert server.hits["/flaky.rss"] == hits
            h.now += timedelta(minutes=1)
        assert h.row("flaky")["error_count"] == 4
        h.tick()  # recovered: the failure is forgotten, the usual interval again, the items stored
        row = h.row("flaky")
        assert (row["status"], row["error_count"], row["last_error"], row["failure"]) == (200, 0, None, None)
        assert h.delay("flaky") == timedelta(minutes=10)
        assert h.store.count("articles") == 3


def test_retry_after_and_permanent_failures(harness):
    with Loopback() as server:
        server.routes["/busy.rss"] = lambda handler: answer(handler, 429, headers={"Retry-After": "7200"})
        server.routes["/slow-down.rss"] = lambda handler: answer(handler, 503, headers={"Retry-After": "999999"})
        h = harness([
            {"url": server.url("/busy.rss"), "name": "busy", "interval": "10m"},
            {"url": server.url("/slow-down.rss"), "name": "slow-down", "interval": "10m"},
            {"url": server.url("/gone.rss"), "name": "gone", "interval": "10m"},  # 404
        ], "fetch:\n  jitter: 0\n  max_backoff: 6h\n  max_retry_after: 3h\n")
        h.tick()
        assert h.delay("busy") == timedelta(hours=2)  # Retry-After beats the 20 min backoff
        assert h.delay("slow-down") == timedelta(hours=3)  # an absurd Retry-After is cut to max_retry_after
        assert (h.row("gone")["status"], h.row("gone")["failure"]) == (404, "permanent")
        assert h.delay("gone") == timedelta(hours=6)  # 404: the cap at once
        for _ in range(6):  # failing for days: still tried, at the cap
            h.until_due("gone")
            h.tick()
            assert h.delay("gone") == timedelta(hours=6)
        assert h.row("gone")["error_count"] == 7
        assert server.hits["/gone.rss"] == 7
        assert ("gone", h.row("gone")["last_error"]) in h.store.failing_feeds(h.now)

        server.files["/bad.rss"] = (b"<html><body>not a feed</body></html>", "text/html")
        h2 = harness([{"url": server.url("/bad.rss"), "name": "bad", "interval": "10m", "type": "feed"}], "fetch:\n  jitter: 0\n")
        for minutes in (40, 160, 360):  # not a feed: interval × 4ⁿ up to the cap
            h2.tick()
            assert h2.row("bad")["failure"] == "permanent"
            assert h2.delay("bad") == timedelta(minutes=minutes)
            h2.until_due("bad")


@pytest.mark.parametrize(
    ("extra", "headers", "minutes"),
    [
        ("", {}, 10),
        ("<ttl>60</ttl>", {}, 60),
        ("<ttl>1</ttl>", {}, 10),  # a hint never makes us poll more often than `interval`
        ("<ttl>1440</ttl>", {}, 120),  # nor less often than max_interval
        ('<sy:updatePeriod xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">hourly</sy:updatePeriod>'
         '<sy:updateFrequency xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">2</sy:updateFrequency>', {}, 30),
        ("", {"Cache-Control": "public, max-age=5400"}, 90),
        ("<ttl>30</ttl>", {"Cache-Control": "max-age=2700, must-revalidate"}, 45),
        ("", {"Cache-Control": "no-cache"}, 10),
    ],
)
def test_feed_hints(harness, extra, headers, minutes):
    with Loopback() as server:
        server.routes["/f.rss"] = lambda handler: answer(
            handler, 200, rss(range(2), extra), {"Content-Type": "application/rss+xml", **headers})
        h = harness([{"url": server.url("/f.rss"), "name": "f", "interval": "10m", "full_text": False}], NO_JITTER)
        h.tick()
        assert h.row("f")["status"] == 200
        assert h.delay("f") == timedelta(minutes=minutes)
        h.until_due("f")
        h.tick()  # unchanged this time (same body): the remembered hint still applies
        assert h.delay("f") == timedelta(minutes=minutes)


def test_jitter_spreads_feeds_polled_together(harness):
    with Loopback() as server:
        feeds = []
        for n in range(30):
            server.add(f"/f{n}.rss", rss(range(n, n + 1)))
            feeds.append({"url": server.url(f"/f{n}.rss"), "name": f"f{n}", "interval": "20m", "full_text": False})
        h = harness(feeds)  # default jitter: up to 10 % later
        h.tick()
        delays = [h.delay(f"f{n}").total_seconds() for n in range(30)]
        assert all(1200 <= d <= 1320 for d in delays)
        assert len(set(delays)) > 20


def test_stale_feed(harness):
    with Loopback() as server:
        h = harness([{"url": server.url("/s.rss"), "name": "s", "interval": "1h", "full_text": False}], NO_JITTER)
        for hour in range(8):  # one new item an hour: the feed's rhythm
            server.add("/s.rss", rss(range(hour + 1)))
            h.tick()
            h.now += timedelta(hours=1)
        assert h.store.count("articles") == 8
        assert h.store.silent_feeds(h.now) == []
        # then it keeps answering 200 with the same items for two days
        for _ in range(48):
            h.tick()
            h.now += timedelta(hours=1)
        assert h.row("s")["status"] == 304 and h.row("s")["error_count"] == 0  # healthy, just nothing new
        assert [name for name, _last in h.store.silent_feeds(h.now)] == ["s"]


def test_a_poll_due_just_after_the_tick_is_taken_by_that_tick(harness):
    with Loopback() as server:
        server.add("/m.rss", rss(range(1)))
        h = harness([{"url": server.url("/m.rss"), "name": "m", "interval": "60s", "full_text": False}], NO_JITTER)
        h.tick()
        # The next tick comes a few seconds before poll time + interval (the poll landed a little
        # after its own tick): it still polls the feed, or a 60 s interval would mean 120 s.
        h.now += timedelta(seconds=57)
        h.tick()
        assert server.hits["/m.rss"] == 2
        h.now += timedelta(seconds=20)  # a tick long before the next poll: nothing
        h.tick()
        assert server.hits["/m.rss"] == 2


def test_reload_keeps_the_running_config_whatever_is_wrong(tmp_path):
    import shutil

    from conftest import REPO

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    config = config_mod.load(write_config(tmp_path, [{"url": "http://127.0.0.1:9/a.rss", "name": "a"}], rules=rules))
    with Store(config.database) as store, Workers(1) as workers:
        monitor = Monitor(config, store, load_rules(config.rules), workers)
        before = (monitor.config, monitor.rules)
        (rules / "latin1.yaml").write_bytes("rules:\n  - name: caf\xe9\n    query: caf\xe9\n".encode("latin-1"))
        assert monitor.reload() is False  # not UTF-8: refused, not a crash
        (rules / "latin1.yaml").unlink()
        config.path.write_text(config.path.read_text() + "stories:\n  window: forever\n")
        assert monitor.reload() is False
        assert (monitor.config, monitor.rules) == before
        config.path.write_text(config.path.read_text().replace("stories:\n  window: forever\n", "stories:\n  window: 3d\n"))
        assert monitor.reload() is True and store.story_window == 3 * 86400
