"""The analyst's first commands, from a shell as she types them: one way to name the archive
(--database on `monitor` or on the command), no config file needed to read one, no archive made
by a command that only reads, and a demo that ends with commands that run as printed."""

from __future__ import annotations

import contextlib
import re
import shlex
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import write_config

pytestmark = pytest.mark.slow  # real processes and servers: `pytest -m "not slow"` leaves them out

MONITOR = [sys.executable, "-m", "monitor"]


def monitor(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*MONITOR, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answer(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except OSError:
        return None


@contextlib.contextmanager
def serving(argv: list[str], cwd: Path, url: str):
    """`monitor … serve` started as given; yields once `url` answers (or the process ended)."""
    from conftest import wait_for

    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: process.poll() is not None or answer(url) is not None, timeout=120)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`monitor demo` run in an empty folder, as the README's first step; its output and its folder."""
    where = tmp_path_factory.mktemp("demo")
    run = monitor("demo", "--database", "first.db", cwd=where)
    assert run.returncode == 0, run.stderr
    return where, run.stdout


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


READ_ONLY = [
    pytest.param(["feeds"], "monitor.db", id="feeds"),
    pytest.param(["--database", "gone.db", "check"], "gone.db", id="check --database"),
    pytest.param(["stats"], "monitor.db", id="stats"),
    pytest.param(["digest", "--dry-run"], "monitor.db", id="digest --dry-run"),
    pytest.param(["digest"], "monitor.db", id="digest"),
    pytest.param(["prune", "--dry-run"], "monitor.db", id="prune --dry-run"),
    pytest.param(["rematch"], "monitor.db", id="rematch"),
    pytest.param(["serve", "--port", "1"], "monitor.db", id="serve"),
    pytest.param(["--database", "gone.db", "stats"], "gone.db", id="--database X stats"),
    pytest.param(["stats", "--database", "gone.db"], "gone.db", id="stats --database X"),
    pytest.param(["feeds", "--database", "gone.db"], "gone.db", id="feeds --database X"),
]


@pytest.mark.parametrize("args, missing", READ_ONLY)
def test_a_command_that_reads_the_archive_names_a_missing_one_and_makes_none(tmp_path, args, missing):
    config = write_config(tmp_path, [{"url": "http://127.0.0.1:9/feed.rss", "name": "one"}],
                          extra="digest:\n  to: [desk@example.org]\n  from: monitor@example.org\n"
                                "  smtp: {host: 127.0.0.1, port: 9}\n")
    text = config.read_text().replace(str(tmp_path / "archive.db"), "monitor.db")
    config.write_text(text)
    before = _files(tmp_path)
    run = monitor(*args, cwd=tmp_path, timeout=120)
    assert run.returncode != 0, run.stdout
    assert f"no archive at {missing}" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert _files(tmp_path) == before  # no empty monitor.db (or -wal, -shm) left behind


@pytest.mark.parametrize("args", [["stats"], ["digest", "--dry-run"], ["rematch", "--rule", "ceasefire"]])
def test_database_on_monitor_or_on_the_command_is_one_thing_and_needs_no_config(demo, args):
    where, _ = demo
    assert not (where / "feeds.yaml").exists()
    first = monitor("--database", "first.db", *args, cwd=where)
    second = monitor(*args[:1], "--database", "first.db", *args[1:], cwd=where)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    if args[0] == "digest":  # the message differs in its date and Message-ID; what it holds does not
        assert re.search(r"\d+ stories, \d+ hits; nothing marked as sent", first.stderr), first.stderr
        assert first.stderr.splitlines()[-1] == second.stderr.splitlines()[-1]
        assert "Subject: monitor digest" in first.stdout
        # the text part as a person reads it, not its quoted-printable wire form
        assert "Переговори про перемир'я" in first.stdout and "=D0" not in first.stdout
    elif args[0] == "rematch":
        assert re.search(r"rematched 9 articles", first.stderr) and re.search(r"rematched 9 articles", second.stderr)
    else:
        assert "first.db" in first.stdout and first.stdout == second.stdout


def test_a_command_that_needs_the_feeds_says_so_without_a_config(demo):
    where, _ = demo
    run = monitor("--database", "first.db", "feeds", cwd=where)
    assert run.returncode == 2 and "feeds.yaml: no such file" in run.stderr, run.stderr
    mail = monitor("--database", "first.db", "digest", cwd=where)  # sending needs the digest: settings
    assert mail.returncode == 2 and "`digest:` settings" in mail.stderr and "--dry-run" in mail.stderr, mail.stderr


@pytest.mark.parametrize("order", ["monitor --database X serve", "monitor serve --database X"])
def test_serve_takes_database_either_way_without_a_config(demo, order):
    where, _ = demo
    port = str(free_port())
    argv = [*MONITOR, "--database", "first.db", "serve", "--port", port] if order.startswith("monitor --database") \
        else [*MONITOR, "serve", "--database", "first.db", "--port", port]
    url = f"http://127.0.0.1:{port}/first/articles.json?_shape=array"
    with serving(argv, where, url) as process:
        assert answer(url) == 200, process.stderr.read() if process.poll() is not None else "no answer"


def test_the_demo_ends_with_next_commands_that_run_as_printed(demo):
    where, out = demo
    assert max(len(line) for line in out.splitlines()) <= 80  # its table and its hints fit a terminal
    steps = out[out.index("\nNext:"):].splitlines()[2:]
    commands = [(line, what) for line, what in zip(steps, steps[1:]) if line.startswith("  monitor ")]
    names = [shlex.split(c)[1] for c, _ in commands]
    assert {"serve", "digest"} <= set(names), steps
    for command, comment in commands:
        argv = [*MONITOR, *shlex.split(command)[1:]]
        if "serve" in argv:
            url = re.search(r"http://\S+", comment).group(0)
            port = re.search(r":(\d+)/", url).group(1)
            assert port == "8001" and "--port" not in argv
            argv += ["--port", str(free_port())]  # the printed port may be taken on a shared machine
            url = url.replace(":8001/", f":{argv[-1]}/") + "/articles.json"
            with serving(argv, where, url) as process:
                assert answer(url) == 200, process.stderr.read() if process.poll() is not None else "no answer"
        else:
            run = subprocess.run(argv, cwd=where, capture_output=True, text=True, timeout=300)
            assert run.returncode == 0, (command, run.stderr)
            assert run.stdout.strip(), command


def test_the_demo_archive_is_this_weeks_news(demo):
    """The sample items' dates move with the calendar: a period by publication time ("the last 7 days",
    the digest's) finds the demo's stories whatever day it runs."""
    import sqlite3
    from datetime import datetime, timedelta, timezone

    where, _ = demo
    with contextlib.closing(sqlite3.connect(where / "first.db")) as db:
        published = sorted(datetime.fromisoformat(p) for (p,) in db.execute("SELECT published FROM articles"))
    now = datetime.now(timezone.utc)
    assert len(published) == 9
    assert now - timedelta(days=2) < published[-1] < now - timedelta(hours=12)
    assert published[0] > now - timedelta(days=10)


@pytest.mark.parametrize("body, days, moved", [
    (b"<pubDate>Sat, 14 Nov 2026 08:05:00 GMT</pubDate>", 21, b"<pubDate>Sat, 05 Dec 2026 08:05:00 GMT</pubDate>"),
    (b"<pubDate>Mon, 30 Nov 2026 08:05:00 GMT</pubDate>", 2, b"<pubDate>Wed, 02 Dec 2026 08:05:00 GMT</pubDate>"),
    (b'"date_published": "2026-11-16T08:30:00+02:00"', 46, b'"date_published": "2027-01-01T08:30:00+02:00"'),
    (b"<id>tag:x,2026-11-13:kontrnastup</id>", 5, b"<id>tag:x,2026-11-13:kontrnastup</id>"),  # an id stays
    ("<time datetime=\"2026-11-11T16:20:00+02:00\">11 листопада</time>".encode("cp1251"), -1,
     "<time datetime=\"2026-11-10T16:20:00+02:00\">11 листопада</time>".encode("cp1251")),
])
def test_demo_dates_move_by_whole_days(body, days, moved):
    from monitor.demo import shift_dates

    assert shift_dates(body, days) == moved
