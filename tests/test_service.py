"""`monitor run` under a service manager: the sd_notify protocol, SIGHUP reloads, SIGTERM.

The daemon runs as a real subprocess with NOTIFY_SOCKET pointing at a datagram socket this test
listens on, as systemd would, and polls feeds from a loopback server.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from conftest import Loopback, NotifyListener, feed_body, wait_for, write_config
from monitor.systemd import Notifier

pytestmark = pytest.mark.slow


def test_notify_watchdog_reload_and_stop(tmp_path):
    with Loopback() as server:
        server.add("/a.rss", feed_body("a", 3))
        server.add("/b.rss", feed_body("b", 2))
        slow_started = threading.Event()

        def slow(handler):  # the feed added by the reload answers late: SIGTERM comes while it is in flight
            slow_started.set()
            time.sleep(1.5)
            body = feed_body("slow", 4)
            handler.send_response(200)
            handler.send_header("Content-Type", "application/rss+xml")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        server.routes["/slow.rss"] = slow
        feeds = [{"url": server.url("/a.rss"), "name": "a", "full_text": False},
                 {"url": server.url("/b.rss"), "name": "b", "full_text": False}]
        config = write_config(tmp_path, feeds)
        good = config.read_text()
        listener = NotifyListener(str(tmp_path / "notify.sock"))
        env = dict(os.environ, PYTHONUNBUFFERED="1", NOTIFY_SOCKET=listener.path, WATCHDOG_USEC="3000000")
        env.pop("JOURNAL_STREAM", None)
        log = (tmp_path / "stderr.log").open("w+")
        process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                   stdout=subprocess.DEVNULL, stderr=log, env=env)
        try:
            # READY=1 once started, then a STATUS line once the first cycle is stored
            assert wait_for(lambda: listener.having("READY", "1"), timeout=60)
            ready_at = listener.having("READY", "1")[0][0]
            assert wait_for(lambda: any("polled 2 feeds" in m["STATUS"] for _t, m in listener.having("STATUS")), timeout=60)
            database = sqlite3.connect(tmp_path / "archive.db")
            assert database.execute("SELECT count(*) FROM articles").fetchone()[0] == 5

            # WATCHDOG=1 keeps coming, every WatchdogSec/3 (1 s here), each within WatchdogSec of the
            # last: systemd would kill the service otherwise. The margin is the shipped unit's ratio, so
            # a busy machine's scheduling does not fail the test; a loop blocked for seconds does.
            def pings():
                return [t for t, _m in listener.having("WATCHDOG", "1") if t > ready_at]

            assert wait_for(lambda: len(pings()) >= 5, timeout=60)
            assert max(b - a for a, b in zip(pings(), pings()[1:])) < 3.0

            # SIGHUP with a broken feeds.yaml: refused, logged with file and line; the old config runs on
            config.write_text(good + "defaults:\n  interval: often\n")
            process.send_signal(signal.SIGHUP)
            assert wait_for(lambda: "reload refused" in (tmp_path / "stderr.log").read_text(), timeout=20)
            refusal = next(line for line in (tmp_path / "stderr.log").read_text().splitlines() if "reload refused" in line)
            assert f"{config}:" in refusal and "defaults.interval" in refusal
            assert process.poll() is None
            pinged = len(listener.having("WATCHDOG"))
            assert wait_for(lambda: len(listener.having("WATCHDOG")) > pinged + 2, timeout=30)

            # SIGHUP with a good one that adds a (slow) feed: it is polled at once
            config.write_text(good.replace("feeds:\n", f"feeds:\n- url: {server.url('/slow.rss')}\n  name: slow\n  full_text: false\n", 1))
            reloads = len(listener.having("RELOADING"))
            process.send_signal(signal.SIGHUP)
            assert slow_started.wait(30), "the feed added by the reload was not polled"
            assert len(listener.having("RELOADING")) > reloads

            # SIGTERM while that feed is in flight: it is finished and stored, then a clean exit
            process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            assert process.wait(timeout=15) == 0
            assert time.monotonic() - stopped_at < 10
            assert listener.having("STOPPING", "1")
            assert database.execute("SELECT count(*) FROM articles WHERE feed='slow'").fetchone()[0] == 4
            assert database.execute("SELECT active FROM feeds WHERE name='slow'").fetchone()[0] == 1
            assert "daemon stopped" in (tmp_path / "stderr.log").read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            listener.close()


def test_notifier_outside_systemd_and_abstract_sockets(tmp_path):
    assert not Notifier({}).send(ready=1)  # no NOTIFY_SOCKET: nothing to do, nothing fails
    name = f"monitor-test-{os.getpid()}"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind("\0" + name)
    try:
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "30000000"})
        assert notifier.watchdog == 30.0
        assert notifier.send(status="polled 3 feeds", ready=1)
        assert receiver.recv(100) == b"STATUS=polled 3 feeds\nREADY=1"
    finally:
        receiver.close()
    # the watchdog is someone else's when WATCHDOG_PID names another process
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}).watchdog is None
    # systemd gone: the send fails quietly, the daemon goes on
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).send(watchdog=1)


def _catches(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has a handler for sig (SigCgt in /proc): the moment it stops dying of it."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        pass
    return False


@pytest.mark.parametrize("first", [signal.SIGHUP, signal.SIGTERM], ids=["sighup", "sigterm"])
def test_signals_while_starting(tmp_path, first):
    """A SIGHUP before the daemon is ready is a reload once it is; a SIGTERM then is a clean exit 0.
    The signal is sent as soon as the archive file appears, long before READY (starting then compiles
    the rules and the gazetteer and starts the workers)."""
    with Loopback() as server:
        server.add("/a.rss", feed_body("a", 2))
        config = write_config(tmp_path, [{"url": server.url("/a.rss"), "name": "a", "full_text": False}])
        listener = NotifyListener(str(tmp_path / "notify.sock"))
        env = dict(os.environ, PYTHONUNBUFFERED="1", NOTIFY_SOCKET=listener.path)
        env.pop("JOURNAL_STREAM", None)
        log = (tmp_path / "stderr.log").open("w+")
        process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                   stdout=subprocess.DEVNULL, stderr=log, env=env)
        try:
            # the archive is opened early in starting, before the rules, the gazetteer and the workers
            assert wait_for(lambda: (tmp_path / "archive.db").exists() or process.poll() is not None, timeout=60)
            assert _catches(process.pid, first), "the signal would kill the daemon while it starts"
            process.send_signal(first)
            sent_before_ready = not listener.having("READY", "1")
            if first == signal.SIGTERM:
                assert process.wait(timeout=60) == 0, (tmp_path / "stderr.log").read_text()[-2000:]
                assert "daemon stopped" in (tmp_path / "stderr.log").read_text()
            else:
                assert wait_for(lambda: listener.having("RELOADING", "1"), timeout=60), \
                    (tmp_path / "stderr.log").read_text()[-2000:]
                assert process.poll() is None
                assert wait_for(lambda: "config reloaded" in (tmp_path / "stderr.log").read_text(), timeout=30)
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=60) == 0
            assert sent_before_ready, "the daemon was ready before the signal: nothing tested"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            listener.close()


def test_no_rules_is_said_at_start_and_a_latin1_rule_file_refused_on_reload_by_name(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    with Loopback() as server:
        server.add("/a.rss", feed_body("a", 2))
        config = write_config(tmp_path, [{"url": server.url("/a.rss"), "name": "a", "full_text": False}], rules=rules)
        listener = NotifyListener(str(tmp_path / "notify.sock"))
        env = dict(os.environ, PYTHONUNBUFFERED="1", NOTIFY_SOCKET=listener.path)
        env.pop("JOURNAL_STREAM", None)
        log = tmp_path / "stderr.log"
        process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                   stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env)
        try:
            # an empty folder: the daemon runs, and says so in the log and in systemctl status
            assert wait_for(lambda: listener.having("READY", "1"), timeout=60), log.read_text()[-2000:]
            assert any("NO RULES" in m["STATUS"] for _t, m in listener.having("STATUS"))
            assert "no rules: articles are archived but none will match" in log.read_text()
            # a rule file in Latin-1: the reload is refused with the file's name and line
            (rules / "latin.yaml").write_bytes("name: latin\nkeywords: [tr\u00eave]\n".encode("latin-1"))
            process.send_signal(signal.SIGHUP)
            assert wait_for(lambda: "reload refused" in log.read_text(), timeout=30)
            refusal = next(line for line in log.read_text().splitlines() if "reload refused" in line)
            assert f"{rules / 'latin.yaml'}:2: is not UTF-8 text" in refusal
            assert process.poll() is None
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            listener.close()
