"""Mail accepted is mail sent (#14): the server's 250 to DATA is final, whatever the session does after.

A real aiosmtpd server on 127.0.0.1 misbehaves on cue: it answers 421 to QUIT, drops the connection
right after its 250, refuses one recipient of two, or answers 451 to DATA once. Every check counts
what the server received: a digest or alert the server accepted is recorded sent and never mailed
again; one it did not accept is retried, later, and arrives once.
"""

from __future__ import annotations

import asyncio
import email
import logging
import socket
from datetime import datetime, timedelta
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from click.testing import CliRunner

import monitor.cli as cli_module
from conftest import smtp_server, write_config
from monitor import config as config_mod
from monitor.cli import cli
from monitor.daemon import Monitor
from monitor.rules import load_rules
from monitor.store import Store
from monitor.workers import Workers
from test_digest import NOW, archive, send_config

pytestmark = pytest.mark.slow  # real processes and servers: `pytest -m "not slow"` leaves them out


class Faults:
    """The server's handler: records what it accepted and answers as told. `data` holds the answers
    to the next DATAs (then 250), `quit` the answer to QUIT, `refuse` the recipients it refuses;
    `drop_after_data` makes the session close the connection right after its 250 to DATA."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.data: list[str] = []
        self.attempts = 0  # DATAs received, accepted or not
        self.quit = "221 Bye"
        self.refuse: set[str] = set()
        self.drop_after_data = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook name
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.attempts += 1
        answer = self.data.pop(0) if self.data else "250 OK"
        if answer.startswith("250"):
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return answer

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802
        return self.quit  # aiosmtpd closes the connection after it, whatever it is


class DroppingSMTP(SMTP):
    async def smtp_DATA(self, arg):  # noqa: N802 - aiosmtpd's command method
        await super().smtp_DATA(arg)  # returns once the answer is written and drained
        if self.event_handler.drop_after_data and self.transport is not None:
            self.transport.close()


class FaultyController(Controller):
    def factory(self):
        return DroppingSMTP(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def server():
    faults = Faults()
    with smtp_server(faults, FaultyController) as port:
        yield faults, port


@pytest.fixture
def warnings_logged():
    """The monitor logger's warnings. A handler of our own: the CLI's setup_logging, run by earlier
    tests in this process, stops the logger propagating to pytest's caplog."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("monitor")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def message_id(content: bytes) -> str:
    return email.message_from_bytes(content, policy=default)["Message-ID"]


def digest(config: str, monkeypatch, at: datetime):
    monkeypatch.setattr(cli_module, "_now", lambda: at)
    return CliRunner().invoke(cli, ["--config", config, "digest"])


def digests(tmp_path) -> list[tuple[str, str]]:
    with Store(tmp_path / "archive.db") as store:
        return [tuple(row) for row in store.db.execute("SELECT status, message_id FROM digests ORDER BY id")]


@pytest.mark.parametrize("fault", ["421 to QUIT", "connection dropped after the 250"])
def test_a_digest_the_server_accepted_is_recorded_sent_and_not_mailed_again(tmp_path, server, monkeypatch, fault):
    faults, port = server
    if fault == "421 to QUIT":
        faults.quit = "421 4.3.2 Service shutting down"
    else:
        faults.drop_after_data = True
    config = send_config(tmp_path, port)
    result = digest(config, monkeypatch, NOW + timedelta(hours=1))
    assert result.exit_code == 0, result.output
    ((_sender, _recipients, content),) = faults.messages
    assert digests(tmp_path) == [("sent", message_id(content))]
    # the late failure is a warning naming the message, one line with its context
    (line,) = [line for line in result.stderr.splitlines() if "session failed" in line]
    assert " WARNING " in line and f"message_id={message_id(content)}" in line
    assert ("421" if fault == "421 to QUIT" else "SMTPServerDisconnected") in line
    # The next run starts where the accepted one ended: nothing is mailed twice.
    again = digest(config, monkeypatch, NOW + timedelta(hours=2))
    assert again.exit_code == 0 and "nothing sent" in again.output
    assert len(faults.messages) == 1 and faults.attempts == 1


def test_a_digest_accepted_for_one_recipient_of_two_is_not_mailed_again(tmp_path, server, monkeypatch):
    faults, port = server
    faults.refuse = {"desk@example.org"}
    config = send_config(tmp_path, port)
    result = digest(config, monkeypatch, NOW + timedelta(hours=1))
    assert result.exit_code == 0, result.output
    ((_sender, recipients, content),) = faults.messages
    assert recipients == ["analyst@example.org"] and digests(tmp_path) == [("sent", message_id(content))]
    assert "desk@example.org 550" in result.stderr  # the refused one is named, as a warning
    again = digest(config, monkeypatch, NOW + timedelta(hours=2))
    assert again.exit_code == 0 and len(faults.messages) == 1  # analyst@ does not get it twice


def test_an_alert_the_server_accepted_is_marked_sent_once_after_a_421_to_quit(tmp_path, server, warnings_logged):
    faults, port = server
    faults.quit = "421 4.3.2 Service shutting down"
    archive(tmp_path)  # two hits of `ceasefire`, at NOW and five minutes later
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ceasefire.yaml").write_text("name: ceasefire\ndescription: Ceasefires, at once.\nquery: ceasefire\nalert: immediate\n")
    path = write_config(tmp_path, [{"url": "https://wire.example/feed", "name": "wire"}], rules=rules, extra=(
        "digest:\n  to: [desk@example.org]\n  from: monitor@example.org\n"
        f"  smtp: {{host: 127.0.0.1, port: {port}, security: none}}\n"))
    config = config_mod.load(path)
    with Store(config.database) as store, Workers(1) as workers:
        monitor = Monitor(config, store, load_rules(config.rules), workers, clock=lambda: NOW + timedelta(hours=1))
        monitor.started = NOW - timedelta(hours=1)
        assert asyncio.run(monitor.send_alerts()) == 2 and len(faults.messages) == 1
        assert asyncio.run(monitor.send_alerts()) == 0 and len(faults.messages) == 1  # the next cycle: nothing again
        assert store.db.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall() == [("sent", 2)]
    (warning,) = warnings_logged
    assert warning.message_id == message_id(faults.messages[0][2]) and warning.error.startswith("421")


def test_a_451_to_data_is_retried_after_a_backoff_and_arrives_once(tmp_path, server):
    faults, port = server
    faults.data = ["451 4.3.0 Try again later"]  # the first DATA only; then 250
    path = send_config(tmp_path, port)
    with open(path, "a") as f:
        f.write('  time: "07:00"\n  timezone: UTC\n')
    config = config_mod.load(path)
    clock = {"now": NOW + timedelta(hours=1)}  # 13:00 UTC: today's 07:00 slot is due
    with Store(config.database) as store, Workers(1) as workers:
        store.db.execute("INSERT INTO digests (created, period_start, period_end, status) VALUES "
                         "('x', '2026-11-23T07:00:00Z', '2026-11-24T07:00:00Z', 'sent')")
        monitor = Monitor(config, store, load_rules(config.rules), workers, clock=lambda: clock["now"])
        assert asyncio.run(monitor.digest_if_due()) is False and faults.attempts == 1 and faults.messages == []
        clock["now"] += timedelta(minutes=2)  # within the backoff: not asked again
        assert asyncio.run(monitor.digest_if_due()) is False and faults.attempts == 1
        clock["now"] += timedelta(minutes=4)
        assert asyncio.run(monitor.digest_if_due()) is True and faults.attempts == 2
        clock["now"] += timedelta(hours=1)
        assert asyncio.run(monitor.digest_if_due()) is False
    ((_sender, _recipients, content),) = faults.messages
    assert b"also in: herald" in content  # the refused period went out in full, once
    (failed, _first_id), sent = digests(tmp_path)[1:]
    assert failed == "failed" and sent == ("sent", message_id(content))


def test_a_silent_mail_server_holds_up_neither_polling_nor_the_watchdog_nor_a_stop(tmp_path):
    """A server that accepts the connection and never says a word (a tarpit, a hung MTA): smtplib
    waits for its 60 s timeout. The daemon mails from a thread of its own, beside the ticks: the
    watchdog keeps its pace, a tick still polls, SIGTERM is a clean exit within 10 s, and the
    digest the server never took is not counted as sent."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import threading
    import time

    from conftest import Loopback, NotifyListener, feed_body, wait_for

    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    accepted = threading.Event()

    def accept() -> None:
        while True:
            try:
                connection, _peer = silent.accept()
            except OSError:
                return
            held.append(connection)  # kept open, never answered
            accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    with Loopback() as feeds:
        feeds.add("/a.rss", feed_body("a", 3))
        config = write_config(tmp_path, [{"url": feeds.url("/a.rss"), "name": "a", "full_text": False}],
                              extra=(f"digest:\n  to: [analyst@example.org]\n  from: monitor@example.org\n  send_empty: true\n"
                                     f"  smtp: {{host: 127.0.0.1, port: {silent.getsockname()[1]}, security: none}}\n"))
        with Store(tmp_path / "archive.db") as store:  # the last digest long ago: one is due at the first tick
            store.db.execute("INSERT INTO digests (created, period_start, period_end, status) VALUES "
                             "('x', '2000-01-01T00:00:00Z', '2000-01-02T00:00:00Z', 'sent')")
            store.db.conn.commit()
        listener = NotifyListener(str(tmp_path / "notify.sock"))
        env = dict(os.environ, PYTHONUNBUFFERED="1", NOTIFY_SOCKET=listener.path, WATCHDOG_USEC="3000000")
        env.pop("JOURNAL_STREAM", None)
        process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                   stdout=subprocess.DEVNULL, stderr=(tmp_path / "stderr.log").open("w"), env=env)
        try:
            assert accepted.wait(90), "the digest was not sent"
            mailing_from = time.monotonic()
            pings = lambda: [t for t, _m in listener.having("WATCHDOG", "1") if t > mailing_from]  # noqa: E731
            assert wait_for(lambda: len(pings()) >= 6, timeout=60)
            assert max(b - a for a, b in zip(pings(), pings()[1:])) < 3.0
            polled = feeds.hits["/a.rss"]
            db = sqlite3.connect(tmp_path / "archive.db")
            db.execute("UPDATE feeds SET next_poll = '2000-01-01T00:00:00Z'")
            db.commit()
            db.close()
            process.send_signal(signal.SIGHUP)  # a tick at once: it polls while the mail waits
            assert wait_for(lambda: feeds.hits["/a.rss"] > polled, timeout=60)
            process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            assert process.wait(timeout=30) == 0
            assert time.monotonic() - stopped_at < 10
            # the server never took the envelope: no row says 'sending' (which would count as sent
            # and lose the digest), so the period is still due at the next start
            db = sqlite3.connect(tmp_path / "archive.db")
            assert [r[0] for r in db.execute("SELECT status FROM digests ORDER BY id")] == ["sent"]
            db.close()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            listener.close()
            silent.close()
            for connection in held:
                connection.close()

