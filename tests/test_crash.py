"""Crash safety: `monitor run` SIGKILLed at random moments, again and again, then restarted.

Whatever is killed when: the database passes integrity_check, no article is stored twice, nothing
committed is lost, and the next run finishes the work.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import Loopback, wait_for, write_config

pytestmark = pytest.mark.slow  # real processes and servers: `pytest -m "not slow"` leaves them out

FEEDS, ROUNDS, NEW_PER_ROUND = 12, 8, 4
PAGE = (
    "<html><head><title>{title}</title></head><body><nav>Home News World</nav><article><h1>{title}</h1>"
    + "".join(f"<p>Paragraph {{n}}.{i}: shelling continued near the front line overnight, officials said, "
              "and repair crews worked to restore power to several districts.</p>" for i in range(8))
    + "</article><footer>© Demo</footer></body></html>"
)


def publish(server: Loopback, feed: int, count: int) -> None:
    items = []
    for n in range(count):
        path = f"/p/{feed}-{n}.html"
        server.add(path, PAGE.format(title=f"Story {feed}-{n}", n=n).encode(), "text/html")
        items.append(f"<item><title>Story {feed}-{n}</title><link>{server.url(path)}</link>"
                     f"<guid>g-{feed}-{n}</guid><description>Summary {feed}-{n}</description></item>")
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>F{feed}</title>{"".join(items)}</channel></rss>'
    server.add(f"/feed{feed}.rss", body.encode())


def monitor(config, *args, stderr=subprocess.PIPE, **kw):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), *args],
                            stdout=subprocess.DEVNULL, stderr=stderr, env=env, **kw)


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def snapshot(db) -> tuple[str, list[str]]:
    with sqlite3.connect(db) as conn:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        urls = [r[0] for r in conn.execute("SELECT url_key FROM articles")]
    return ok, urls


def test_sigkill_at_random_moments_loses_and_doubles_nothing(tmp_path):
    rng = random.Random(20261125)
    with Loopback() as server:
        server.page_delay = 0.03  # a cycle long enough to be killed in the middle
        config = write_config(tmp_path, [{"url": server.url(f"/feed{f}.rss"), "name": f"f{f}"} for f in range(FEEDS)])
        db = tmp_path / "archive.db"
        committed: set[str] = set()
        published = 0
        for round_ in range(ROUNDS):
            published += NEW_PER_ROUND
            for f in range(FEEDS):
                publish(server, f, published)
            log = tmp_path / f"round{round_}.log"
            with log.open("w") as stderr:
                proc = monitor(config, "run", stderr=stderr)
            # The random moment counts from the end of start-up (rules and gazetteer compiled), which a
            # busy machine may stretch to seconds: a kill before it would test nothing.
            assert wait_for(lambda: "daemon started" in log.read_text(), timeout=60), log.read_text()[-2000:]
            if round_ % 2:
                # every other round the random moment counts from the first feed polled (or the
                # first cycle's end, when no feed was due), so that kills land after commits too,
                # however slowly a busy machine gets there
                assert wait_for(lambda: any(line in log.read_text() for line in ("feed polled", "cycle done"))
                                or proc.poll() is not None, timeout=120)
                time.sleep(rng.uniform(0.0, 1.5))
            else:
                time.sleep(rng.uniform(0.0, 3.0))
            workers = children(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            # The extraction workers die with the daemon instead of living on as orphans.
            assert wait_for(lambda: not any(alive(w) for w in workers), timeout=15), "orphaned workers"
            if not db.exists():
                continue
            ok, urls = snapshot(db)
            assert ok == "ok", f"round {round_}: integrity_check says {ok}"
            assert len(urls) == len(set(urls)), f"round {round_}: an article was stored twice"
            assert committed <= set(urls), f"round {round_}: committed articles were lost"
            committed = set(urls)

        pages_before = sum(n for p, n in server.hits.items() if p.startswith("/p/"))
        done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "run", "--once"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        ok, urls = snapshot(db)
        assert ok == "ok"
        assert len(urls) == len(set(urls)) == FEEDS * published
        assert committed <= set(urls)
        # The last run fetched only what no earlier run had committed.
        fetched_now = sum(n for p, n in server.hits.items() if p.startswith("/p/")) - pages_before
        assert fetched_now == FEEDS * published - len(committed)
        assert len(committed) > 0, "no round got as far as a commit: the kills came too early to test anything"


@pytest.mark.parametrize(
    "stop",
    [
        lambda proc: proc.send_signal(signal.SIGTERM),  # systemd's stop
        # Ctrl-C in a terminal signals the whole process group, workers too: they must not die of it
        lambda proc: os.killpg(proc.pid, signal.SIGINT),
    ],
    ids=["sigterm", "ctrl-c"],
)
def test_stopping_finishes_the_batch_and_exits_0(tmp_path, stop):
    with Loopback() as server:
        server.page_delay = 0.03  # a cycle long enough to be killed in the middle
        for f in range(FEEDS):
            publish(server, f, 10)
        config = write_config(tmp_path, [{"url": server.url(f"/feed{f}.rss"), "name": f"f{f}"} for f in range(FEEDS)])
        proc = monitor(config, "run", start_new_session=True)
        assert wait_for(lambda: any(p.startswith("/p/") for p in list(server.hits)), timeout=60)
        stop(proc)
        _out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err.decode()[-2000:]
        log = err.decode()
        assert "stopping" in log and "daemon stopped" in log
        ok, urls = snapshot(tmp_path / "archive.db")
        assert ok == "ok" and len(urls) == len(set(urls))
        # Every feed that was started was finished: each polled feed has all 10 of its articles.
        with sqlite3.connect(tmp_path / "archive.db") as conn:
            counts = [n for (n,) in conn.execute("SELECT count(*) FROM articles GROUP BY feed")]
            polled = conn.execute("SELECT count(*) FROM feeds WHERE last_poll IS NOT NULL").fetchone()[0]
        assert counts and set(counts) == {10} and len(counts) == polled
