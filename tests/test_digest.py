"""The digest message: built from the archive, one entry per story, safe with hostile text."""

from __future__ import annotations

import email
import re
from datetime import datetime, timedelta, timezone
from email.policy import default

import pytest
from click.testing import CliRunner

from conftest import REPO, self_signed_certificate, smtp_server, write_config
from monitor.cli import cli
from monitor.dedup import signature, text_hash
from monitor.model import Article, Match, PollResult
from monitor.rules import load_rules
from monitor.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
HOSTILE = "Ceasefire <script>alert(1)</script> & =?utf-8?q?Breaking=0D=0ABcc:_x@y?="
BODY = ("Officials said the ceasefire held overnight along the southern front, with both sides "
        "reporting no shelling near Kherson for the first time in weeks, diplomats added. ") * 3


def article(n: int, feed: str, title: str, text: str = BODY) -> Article:
    sig = signature(text)
    return Article(url=f"https://{feed}.example/{n}", link=f"https://{feed}.example/{n}", guid=str(n), feed=feed,
                   title=title, text=text, text_hash=text_hash(text), signature=sig.tobytes(),
                   matches=[Match("ceasefire", "text", ["ceasefire*"], "…the ceasefire held overnight…")], places=["UA-65"])


def archive(tmp_path):
    config = write_config(tmp_path, [{"url": "https://wire.example/feed", "name": "wire"}])
    with Store(tmp_path / "archive.db") as store:
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('wire', 'x'), ('herald', 'y')")
        store.db.execute("INSERT INTO places (code, name_en, country) VALUES ('UA-65', 'Kherson Oblast', 'UA')")
        store.save_poll(PollResult(feed="wire", status=200, next_poll="x", articles=[article(1, "wire", HOSTILE)]), NOW)
        # the same story syndicated by another feed: one entry, "also in: herald"
        store.save_poll(PollResult(feed="herald", status=200, next_poll="x", articles=[article(2, "herald", "Truce holds")]),
                        NOW + timedelta(minutes=5))
    return config


@pytest.mark.slow
def test_dry_run_writes_one_entry_per_story_safely(tmp_path, monkeypatch):
    import monitor.cli as cli_module

    config = archive(tmp_path)
    monkeypatch.setattr(cli_module, "_now", lambda: NOW + timedelta(hours=1))
    out = tmp_path / "digest.eml"
    result = CliRunner().invoke(cli, ["--config", str(config), "digest", "--dry-run", "--output", str(out)])
    assert result.exit_code == 0, result.output
    message = email.message_from_bytes(out.read_bytes(), policy=default)
    assert message["Bcc"] is None and "Bcc" not in out.read_text().split("\n\n", 1)[0]
    assert message["Subject"] == "monitor digest 2026-11-25: 1 story, 1 hit"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.count("* Ceasefire") == 1 and "also in: herald" in text  # one entry for the story
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;" in html
    assert '<mark style="background:#ffe58a;">ceasefire</mark>' in html
    assert 'href="https://wire.example/1"' in html and "UA-65" in html


def test_sending_is_refused_until_built(tmp_path):
    config = archive(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(config), "digest"])
    assert result.exit_code == 2 and "--dry-run" in result.output


@pytest.mark.slow
def test_rules_order_by_priority():
    from monitor.digest import collect

    rules = list(load_rules(REPO / "rules").rules)
    row = dict(rule="", snippet="x", terms=[], article_id=1, story_id=1, title="t", url=None, link=None, feed="f",
               published=None, fetched="2026-11-25T12:00:00Z", sources=["f"], places=None)
    rows = [dict(row, rule="mobilisation"), dict(row, rule="energy-attacks", article_id=2, story_id=2)]
    built = collect(rows, rules, [], NOW, NOW)
    assert [s.rule for s in built.sections] == ["energy-attacks", "mobilisation"]  # priority 3 before 1


# ---------------------------------------------------------------------------------- sending (aiosmtpd)

import pytest  # noqa: E402


class Inbox:
    def __init__(self, answer: str = "250 OK"):
        self.answer, self.messages = answer, []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.answer.startswith("250"):
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return self.answer


@pytest.fixture
def smtp():
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


def send_config(tmp_path, port: int) -> str:
    config = archive(tmp_path)
    text = config.read_text() + (f"digest:\n  to: [analyst@example.org, desk@example.org]\n  from: monitor@example.org\n"
                                 f"  smtp: {{host: 127.0.0.1, port: {port}, security: none}}\n")
    config.write_text(text)
    return str(config)


@pytest.mark.slow
def test_sent_once_to_every_recipient_and_recorded(tmp_path, smtp, monkeypatch):
    import monitor.cli as cli_module

    inbox, port = smtp
    config = send_config(tmp_path, port)
    monkeypatch.setattr(cli_module, "_now", lambda: NOW + timedelta(hours=1))
    result = CliRunner().invoke(cli, ["--config", config, "digest"])
    assert result.exit_code == 0, result.output
    ((sender, recipients, content),) = inbox.messages
    assert sender == "monitor@example.org" and recipients == ["analyst@example.org", "desk@example.org"]
    assert email.message_from_bytes(content, policy=default)["Bcc"] is None
    with Store(tmp_path / "archive.db") as store:
        (status, message_id), = store.db.execute("SELECT status, message_id FROM digests").fetchall()
    assert status == "sent" and message_id == email.message_from_bytes(content, policy=default)["Message-ID"]
    # The next run starts where this one ended: no hits, nothing sent again.
    monkeypatch.setattr(cli_module, "_now", lambda: NOW + timedelta(hours=2))
    again = CliRunner().invoke(cli, ["--config", config, "digest"])
    assert again.exit_code == 0 and "nothing sent" in again.output and len(inbox.messages) == 1


@pytest.mark.parametrize("answer", ["451 4.3.0 Try again later", "554 5.7.1 Rejected"])
@pytest.mark.slow
def test_refused_loses_nothing_and_the_next_attempt_sends_once(tmp_path, smtp, monkeypatch, answer):
    import monitor.cli as cli_module

    inbox, port = smtp
    config = send_config(tmp_path, port)
    monkeypatch.setattr(cli_module, "_now", lambda: NOW + timedelta(hours=1))
    inbox.answer = answer
    refused = CliRunner().invoke(cli, ["--config", config, "digest"])
    assert refused.exit_code == 1 and answer.split()[0] in refused.output and inbox.messages == []
    inbox.answer = "250 OK"
    monkeypatch.setattr(cli_module, "_now", lambda: NOW + timedelta(hours=2))
    sent = CliRunner().invoke(cli, ["--config", config, "digest"])
    assert sent.exit_code == 0 and len(inbox.messages) == 1
    assert b"also in: herald" in inbox.messages[0][2]  # the refused period went out in full


@pytest.mark.slow
def test_server_down_loses_nothing(tmp_path, monkeypatch):
    import socket

    import monitor.cli as cli_module

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = send_config(tmp_path, port)
    monkeypatch.setattr(cli_module, "_now", lambda: NOW + timedelta(hours=1))
    result = CliRunner().invoke(cli, ["--config", config, "digest"])
    assert result.exit_code == 1 and "ConnectionRefusedError" in result.output
    with Store(tmp_path / "archive.db") as store:
        assert store.digest_period_start(NOW) == NOW  # the failed period is not counted as sent


@pytest.mark.slow
def test_crash_between_sending_and_recording_does_not_send_twice(tmp_path, smtp, monkeypatch):
    import monitor.cli as cli_module
    from monitor.store import Store as RealStore

    inbox, port = smtp
    config = send_config(tmp_path, port)
    monkeypatch.setattr(cli_module, "_now", lambda: NOW + timedelta(hours=1))

    def crash(self, digest_id, now, error=None):
        raise SystemExit(9)  # the process dies after the server accepted, before 'sent' is written

    monkeypatch.setattr(RealStore, "digest_done", crash)
    CliRunner().invoke(cli, ["--config", config, "digest"])
    assert len(inbox.messages) == 1
    monkeypatch.undo()
    monkeypatch.setattr(cli_module, "_now", lambda: NOW + timedelta(hours=2))
    CliRunner().invoke(cli, ["--config", config, "digest"])
    assert len(inbox.messages) == 1


@pytest.mark.slow
def test_daemon_sends_at_its_time_catches_up_and_retries(tmp_path, smtp):
    """The daemon's tick sends the digest once its time has passed in its time zone, catches up a
    slot missed while it was down, retries a refusal later, and never sends a slot twice."""
    import asyncio

    from monitor import config as config_mod
    from monitor.daemon import Monitor
    from monitor.workers import Workers

    inbox, port = smtp
    path = send_config(tmp_path, port)
    text = open(path).read().replace("digest:\n", 'digest:\n  time: "07:00"\n  timezone: Europe/Kyiv\n')
    open(path, "w").write(text)
    config = config_mod.load(path)
    clock = {"now": datetime(2026, 11, 26, 4, 30, tzinfo=timezone.utc)}  # 06:30 in Kyiv: not yet
    with Store(config.database) as store, Workers(1) as workers:
        # the last digest covered up to the morning before: today's 07:00 Kyiv slot is the next one
        store.db.execute("INSERT INTO digests (created, period_start, period_end, status) VALUES "
                         "('x', '2026-11-24T05:00:00Z', '2026-11-25T05:00:00Z', 'sent')")
        monitor = Monitor(config, store, load_rules(config.rules), workers, clock=lambda: clock["now"])
        assert asyncio.run(monitor.digest_if_due()) is False and inbox.messages == []
        clock["now"] = datetime(2026, 11, 26, 5, 1, tzinfo=timezone.utc)  # 07:01 Kyiv
        inbox.answer = "451 4.3.0 Try again later"
        assert asyncio.run(monitor.digest_if_due()) is False  # refused: retried in 5 minutes, not at once
        inbox.answer = "250 OK"
        clock["now"] = datetime(2026, 11, 26, 5, 3, tzinfo=timezone.utc)
        assert asyncio.run(monitor.digest_if_due()) is False and inbox.messages == []
        clock["now"] = datetime(2026, 11, 26, 5, 7, tzinfo=timezone.utc)
        assert asyncio.run(monitor.digest_if_due()) is True and len(inbox.messages) == 1
        clock["now"] = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)  # later the same day: sent already
        assert asyncio.run(monitor.digest_if_due()) is False and len(inbox.messages) == 1


@pytest.mark.slow
def test_starttls_and_auth_with_a_systemd_credential(tmp_path, monkeypatch):
    import ssl

    import monitor.cli as cli_module
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"monitor", b"s3cret")
        logins.append((mechanism, ok))
        return AuthResult(success=ok)

    inbox = Inbox()
    with smtp_server(inbox, tls_context=context, require_starttls=True, authenticator=authenticator,
                     auth_required=True) as port:
        config = archive(tmp_path)
        credentials = tmp_path / "credentials"
        credentials.mkdir()
        (credentials / "smtp").write_text("s3cret\n")
        config.write_text(config.read_text() + (
            "digest:\n  to: [analyst@example.org]\n  from: monitor@example.org\n"
            f"  smtp: {{host: 127.0.0.1, port: {port}, security: starttls, username: monitor, password_file: smtp}}\n"))
        monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))  # as systemd's LoadCredential sets it
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's certificate
        monkeypatch.setattr(cli_module, "_now", lambda: NOW + timedelta(hours=1))
        result = CliRunner().invoke(cli, ["--config", str(config), "digest"])
    assert result.exit_code == 0, result.output
    assert len(inbox.messages) == 1 and logins and all(ok for _m, ok in logins)


@pytest.mark.slow
def test_immediate_alerts_are_sent_once_per_hit_and_retried_after_a_refusal(tmp_path, smtp):
    import asyncio

    from conftest import Loopback
    from monitor import config as config_mod
    from monitor.daemon import Monitor
    from monitor.workers import Workers

    inbox, port = smtp
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "kherson.yaml").write_text("name: kherson\ndescription: Kherson, at once.\nquery: Kherson\nalert: immediate\n")
    (rules / "truce.yaml").write_text("name: truce\ndescription: Truces, in the digest only.\nquery: truce\n")
    item = ('<item><title>{t}</title><link>http://k.example/{n}</link><guid>{n}</guid>'
            '<description>Report {n}: shelling in Kherson overnight; a truce is discussed.</description></item>')
    with Loopback() as server:
        def publish(count):
            items = "".join(item.format(t=f"Kherson report {n}", n=n) for n in range(count))
            server.add("/f.rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>K</title>{items}</channel></rss>'.encode())

        config_path = write_config(tmp_path, [{"url": server.url("/f.rss"), "name": "k", "full_text": False}], rules=rules)
        config_path.write_text(config_path.read_text() + (
            "digest:\n  to: [desk@example.org]\n  from: monitor@example.org\n"
            f"  smtp: {{host: 127.0.0.1, port: {port}, security: none}}\n"))
        config = config_mod.load(config_path)
        with Store(config.database) as store, Workers(1) as workers:
            monitor = Monitor(config, store, load_rules(config.rules), workers)
            monitor.started -= timedelta(minutes=1)
            publish(2)
            inbox.answer = "451 4.3.0 Try again later"
            asyncio.run(monitor.poll_due())  # refused: nothing marked
            assert inbox.messages == []
            inbox.answer = "250 OK"
            publish(3)
            asyncio.run(monitor.run_once())
            assert asyncio.run(monitor.send_alerts()) == 3 and len(inbox.messages) == 1
            assert asyncio.run(monitor.send_alerts()) == 0 and len(inbox.messages) == 1  # each hit once
    message = email.message_from_bytes(inbox.messages[0][2], policy=default)
    assert message["Subject"] == "monitor alert: 3 new hits for kherson"
    assert "truce" not in message.get_body(("plain",)).get_content().split("==")[1]  # only the alert rule


def test_spikes_and_silent_feeds(tmp_path):
    with Store(tmp_path / "a.db") as store:
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('f', 'x'), ('quiet', 'y')")
        for n in range(40):
            when = NOW - timedelta(days=6) + timedelta(hours=4 * n) if n < 30 else NOW - timedelta(hours=1, minutes=n)
            a = article(n, "f", f"t{n}")
            a.url, a.guid = f"https://f.example/{n}", str(n)
            store.save_poll(PollResult(feed="f", status=200, next_poll="x", articles=[a]), when)
        for n in range(6):  # a feed that brought something every hour, then nothing for two days
            a = article(100 + n, "quiet", f"q{n}")
            a.matches = []
            store.save_poll(PollResult(feed="quiet", status=200, next_poll="x", articles=[a]), NOW - timedelta(days=2, hours=n))
        (rule, recent, usual), = store.spikes(NOW, 6 * 3600, 3.0)
        assert rule == "ceasefire" and recent == 10 and usual < 2
        assert [name for name, _last in store.silent_feeds(NOW)] == ["quiet"]


def test_digest_subject_placeholders_are_checked(tmp_path):
    from monitor import config as config_mod
    from monitor.errors import ConfigError

    path = tmp_path / "feeds.yaml"
    path.write_text('feeds: []\ndigest:\n  subject: "news {title}"\n')
    with pytest.raises(ConfigError, match="digest.subject") as info:
        config_mod.load(path)
    assert info.value.line == 3


def test_no_spikes_without_history(tmp_path):
    with Store(tmp_path / "a.db") as store:
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('f', 'x')")
        store.save_poll(PollResult(feed="f", status=200, next_poll="x",
                                   articles=[article(n, "f", f"t{n}") for n in range(5)]), NOW)
        assert store.spikes(NOW + timedelta(hours=1), 6 * 3600, 3.0) == []  # a new archive has no usual yet


@pytest.mark.slow
def test_spike_alert_mails_once_per_window(tmp_path, smtp):
    from monitor import config as config_mod
    from monitor.digest import spike_alert

    inbox, port = smtp
    path = send_config(tmp_path, port)
    with Store(tmp_path / "archive.db") as store:
        for n in range(40):  # a week of a hit every four hours, then ten in the last hour
            when = NOW - timedelta(days=6) + timedelta(hours=4 * n) if n < 30 else NOW - timedelta(hours=1, minutes=n)
            store.save_poll(PollResult(feed="wire", status=200, next_poll="x", articles=[article(100 + n, "wire", f"t{n}")]), when)
        config = config_mod.load(path)
        rules = list(load_rules(config.rules).rules)
        mailed: dict = {}
        assert spike_alert(store, config, rules, NOW, mailed) == ["ceasefire"] and len(inbox.messages) == 1
        assert spike_alert(store, config, rules, NOW + timedelta(hours=1), mailed) == [] and len(inbox.messages) == 1
    subject = email.message_from_bytes(inbox.messages[0][2], policy=default)["Subject"]
    assert subject.startswith("monitor spike: ceasefire")


# ---------------------------------------------------------------------------------- a digest a person reads

def reading_archive(tmp_path, articles, extra: str = "", rules=None):
    """A config and an archive holding `articles` (a list of (Article, fetched)), the places named in
    en/uk/ru as sync_places writes them."""
    config = write_config(tmp_path, [{"url": "https://wire.example/feed", "name": "wire"}], extra=extra, rules=rules)
    with Store(tmp_path / "archive.db") as store:
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('wire', 'x')")
        store.db.execute("INSERT INTO places (code, name_en, name_uk, name_ru, country) VALUES "
                         "('UA-65', 'Kherson Oblast', 'Херсонська область', 'Херсонская область', 'UA'), "
                         "('UA-23', 'Zaporizhzhia Oblast', 'Запорізька область', 'Запорожская область', 'UA')")
        for a, fetched in articles:
            store.save_poll(PollResult(feed=a.feed, status=200, next_poll="x", articles=[a]), fetched)
    return config


def dry_run(config, now=NOW + timedelta(hours=1)):
    """The digest message `monitor digest --dry-run` writes, and its text and HTML parts."""
    import monitor.cli as cli_module

    out = config.parent / "digest.eml"
    original, cli_module._now = cli_module._now, lambda: now
    try:
        result = CliRunner().invoke(cli, ["--config", str(config), "digest", "--since", "1d", "--dry-run", "--output", str(out)])
    finally:
        cli_module._now = original
    assert result.exit_code == 0, result.output
    message = email.message_from_bytes(out.read_bytes(), policy=default)
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # as the wire has it: CRLF
    return message, text, message.get_body(("html",)).get_content()


@pytest.mark.parametrize("language, name", [(None, "Kherson Oblast"), ("en", "Kherson Oblast"),
                                            ("uk", "Херсонська область"), ("ru", "Херсонская область")])
@pytest.mark.slow
def test_places_are_named_in_the_digest_language(tmp_path, language, name):
    extra = f"digest:\n  language: {language}\n" if language else ""
    config = reading_archive(tmp_path, [(article(1, "wire", "Truce holds"), NOW)], extra=extra)
    message, text, html = dry_run(config)
    assert f"Places: {name} 1" in text and f"· {name}" in text
    assert f'<span title="UA-65" style="white-space:nowrap;">{name}</span>' in html
    assert "UA-65" not in text  # a reader sees names, not codes


def test_a_rules_title_is_shown_not_its_description(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "truce.yaml").write_text("name: ceasefire\ntitle: Ceasefires and truces\n"
                                      "description: dev note, catches ceasefire* but not trade truces\nquery: ceasefire*\n")
    config = reading_archive(tmp_path, [(article(1, "wire", "Truce holds"), NOW)], rules=rules)
    _message, text, html = dry_run(config)
    assert "== Ceasefires and truces (1) ==" in text and "Ceasefires and truces <span" in html
    assert "dev note" not in text and "dev note" not in html


def test_a_rule_without_a_title_is_headed_by_its_name():
    from monitor.digest import collect
    from monitor.rules import parse_rule_file

    (rule,), _sets = parse_rule_file("name: truce\ndescription: a note\nquery: truce\n", "truce.yaml")
    row = dict(rule="truce", snippet="x", terms=[], article_id=1, story_id=1, title="t", url=None, link=None, feed="f",
               published=None, fetched="2026-11-25T12:00:00Z", sources=["f"], places=None)
    assert [(s.rule, s.title) for s in collect([row], [rule], [], NOW, NOW).sections] == [("truce", "truce")]


@pytest.mark.parametrize("count, subject, body", [
    (1, "monitor digest 2026-11-25: 1 story, 1 hit", "1 story, 1 hit\n"),
    (2, "monitor digest 2026-11-25: 2 stories, 2 hits", "2 stories, 2 hits\n"),
])
@pytest.mark.slow
def test_counts_agree_with_their_nouns(tmp_path, count, subject, body):
    texts = [BODY, "A truce was agreed in the east; the ceasefire begins at dawn, officials said. " * 3]
    config = reading_archive(tmp_path, [(article(n, "wire", f"Story {n}", texts[n]), NOW) for n in range(count)])
    message, text, html = dry_run(config)
    assert message["Subject"] == subject
    assert body in text and body.strip() in html
    assert f"Ceasefires and truces: {count} {'story' if count == 1 else 'stories'}" in text


def test_alert_subject_counts_agree(tmp_path, smtp):
    from monitor import config as config_mod
    from monitor.digest import alert

    inbox, port = smtp
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "truce.yaml").write_text("name: ceasefire\nquery: ceasefire*\nalert: immediate\n")
    config = reading_archive(tmp_path, [(article(1, "wire", "Truce holds"), NOW)], rules=rules, extra=(
        f"digest:\n  to: [desk@example.org]\n  from: monitor@example.org\n  smtp: {{host: 127.0.0.1, port: {port}, security: none}}\n"))
    loaded = config_mod.load(config)
    with Store(loaded.database) as store:
        assert alert(store, loaded, list(load_rules(rules).rules), NOW + timedelta(minutes=1), NOW - timedelta(hours=1)) == 1
    assert email.message_from_bytes(inbox.messages[0][2], policy=default)["Subject"] == "monitor alert: 1 new hit for ceasefire"


@pytest.mark.parametrize("apostrophe", ["'", "’", "ʼ", "‘", "`"])
@pytest.mark.parametrize("written", ["'", "’"])
def test_a_term_is_marked_whatever_apostrophe_the_title_uses(apostrophe, written):
    from monitor.digest import collect
    from monitor.rules import parse_rule_file

    (rule,), _sets = parse_rule_file(f"name: truce\nquery: перемир{written}я\n", "truce.yaml")
    title = f"Росія відкинула перемир{apostrophe}я на Великдень"
    row = dict(rule="truce", snippet=title, terms=[f"перемир{written}я"], article_id=1, story_id=1, title=title,
               url=None, link=None, feed="f", published=None, fetched="2026-11-25T12:00:00Z", sources=["f"], places=None)
    (entry,) = collect([row], [rule], [], NOW, NOW).sections[0].entries
    assert (f"перемир{apostrophe}я", True) in entry.title and (f"перемир{apostrophe}я", True) in entry.snippet


@pytest.mark.parametrize("database, route", [("archive", "archive"), ("desk archive.2026", "desk+archive~2E2026")])
@pytest.mark.slow
def test_each_story_links_to_the_site_and_to_its_row_in_a_real_datasette(tmp_path, database, route):
    import asyncio
    from urllib.parse import urlsplit

    from datasette.app import Datasette

    from monitor.serve import metadata

    config = reading_archive(tmp_path, [(article(1, "wire", "Truce holds"), NOW)],
                             extra="digest:\n  archive_url: http://127.0.0.1:8001/\n")
    path = tmp_path / f"{database}.db"
    (tmp_path / "archive.db").rename(path)
    config.write_text(config.read_text().replace(str(tmp_path / "archive.db"), str(path)))
    _message, text, html = dry_run(config)
    with Store(path) as store:
        (article_id,), = store.db.execute("SELECT id FROM articles").fetchall()
    archive_url = f"http://127.0.0.1:8001/{route}/articles/{article_id}"
    assert "\n  https://wire.example/1\n" in text and f"\n  archive: {archive_url}\n" in text
    assert 'href="https://wire.example/1"' in html and f'href="{archive_url}"' in html
    datasette = Datasette([str(path)], metadata=metadata(database))
    page = asyncio.run(datasette.client.get(urlsplit(archive_url).path))
    assert page.status_code == 200 and "Truce holds" in page.text


@pytest.mark.slow
def test_without_archive_url_there_is_no_archive_link(tmp_path):
    config = reading_archive(tmp_path, [(article(1, "wire", "Truce holds"), NOW)])
    _message, text, html = dry_run(config)
    assert "archive:" not in text and "in the archive" not in html


@pytest.mark.slow
def test_sending_without_a_sender_names_the_file_line_and_key_and_a_dry_run_needs_none(tmp_path):
    config = reading_archive(tmp_path, [(article(1, "wire", "Truce holds"), NOW)],
                             extra="digest:\n  to: [desk@example.org]\n  smtp: {host: 127.0.0.1, port: 9, security: none}\n")
    line = config.read_text().splitlines().index("digest:") + 1
    sent = CliRunner().invoke(cli, ["--config", str(config), "digest"])
    assert sent.exit_code == 2 and f"{config}:{line}: digest.from:" in sent.output
    message, _text, _html = dry_run(config)
    assert message["From"] and "monitor@localhost" not in message["From"]
    run = CliRunner().invoke(cli, ["--config", str(config), "run", "--once"])  # the daemon would mail too
    assert run.exit_code == 2 and f"{config}:{line}: digest.from:" in run.output
    check = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert check.exit_code == 2 and f"{config}:{line}: digest.from:" in check.output


@pytest.mark.slow
def test_deliver_refuses_to_send_without_a_sender(tmp_path):
    from monitor import config as config_mod
    from monitor.digest import deliver
    from monitor.errors import ConfigError

    config = config_mod.load(reading_archive(tmp_path, [(article(1, "wire", "Truce holds"), NOW)],
                                             extra="digest:\n  to: [desk@example.org]\n"))
    with Store(config.database) as store, pytest.raises(ConfigError, match="digest.from") as info:
        deliver(store, config, list(load_rules(config.rules).rules), NOW + timedelta(hours=1))
    assert info.value.key == "digest.from" and info.value.line == config.path.read_text().splitlines().index("digest:") + 1


LONG_TITLE = ("Ceasefire talks resume in Istanbul as delegations from both sides arrive with new proposals on "
              "prisoner exchanges, the energy truce and the Zaporizhzhia nuclear plant, officials said on Tuesday")
LONG_URL = "https://www.example-news-site.example/world/europe/2026/11/25/" + "ceasefire-talks-resume-" * 5 + "istanbul.html"


@pytest.mark.slow
def test_every_text_line_fits_80_columns_and_the_html_fits_a_phone(tmp_path):
    long = article(1, "wire", LONG_TITLE)
    long.url = long.link = LONG_URL
    long.places = ["UA-65", "UA-23"]
    config = reading_archive(tmp_path, [(long, NOW), (article(2, "wire", "Truce holds", "Ceasefire agreed. " * 40), NOW)],
                             extra="digest:\n  archive_url: http://127.0.0.1:8001\n")
    _message, text, html = dry_run(config)
    for line in text.splitlines():
        assert len(line) <= 80 or line.strip() == LONG_URL, line  # only a URL too long for any line is left whole
    assert f"\n  {LONG_URL}\n" in text  # on a line of its own, unbroken, so it stays a link
    lines = text.splitlines()
    assert all(any(name in line for line in lines) for name in ("Zaporizhzhia Oblast", "Kherson Oblast"))  # never split
    assert "\u00a0" not in text
    assert f"* {LONG_TITLE[:60]}" in text and LONG_TITLE in " ".join(line.strip() for line in text.splitlines())
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert re.search(r'<div style="max-width:\d+px;margin:0 auto;', html) and "<table" not in html
    assert "<style" not in html  # mail clients strip style blocks: every style is inline


@pytest.mark.slow
def test_each_story_shows_its_publication_time(tmp_path):
    a = article(1, "wire", "Truce holds")
    a.published = "2026-11-25T09:30:00Z"
    undated = article(2, "wire", "Ceasefire line", "A ceasefire line was drawn on the map overnight. " * 3)
    config = reading_archive(tmp_path, [(a, NOW), (undated, NOW + timedelta(minutes=10))])
    _message, text, html = dry_run(config)
    assert "wire · published 2026-11-25 09:30 UTC" in text and "published 2026-11-25 09:30 UTC" in html
    assert "wire · found 2026-11-25 12:10 UTC" in text  # no date from the site: when we found it


@pytest.mark.slow
def test_a_backlog_story_goes_in_a_section_of_its_own(tmp_path):
    fresh = article(1, "wire", "Truce holds")
    fresh.published = "2026-11-25T09:30:00Z"
    old = article(2, "wire", "Easter truce of 2025 remembered", "A ceasefire was declared for Easter back then. " * 3)
    old.published = "2026-10-01T08:00:00Z"  # a new feed's backlog: months before the period
    edge = article(3, "wire", "Truce talks yesterday", "Ceasefire talks went on yesterday in Geneva. " * 3)
    edge.published = "2026-11-23T14:00:00Z"  # a day before the period (which starts 11-24 13:00): still news
    config = reading_archive(tmp_path, [(fresh, NOW), (old, NOW), (edge, NOW)])
    message, text, html = dry_run(config)
    news, older = text.split("== Older stories found this period ==")
    assert "Truce holds" in news and "Truce talks yesterday" in news and "Easter truce" not in news
    assert "Easter truce of 2025 remembered" in older and "published 2026-10-01 08:00 UTC" in older
    assert "Ceasefires and truces" in older  # the rule it matched is said on the entry
    assert html.index("Older stories found this period") < html.index("Easter truce of 2025")
    assert message["Subject"].endswith("3 stories, 3 hits")  # every hit still goes out in this digest


@pytest.mark.slow
def test_older_than_is_a_setting(tmp_path):
    old = article(1, "wire", "Truce talks yesterday")
    old.published = "2026-11-23T14:00:00Z"
    config = reading_archive(tmp_path, [(old, NOW)], extra="digest:\n  older_than: 12h\n")
    _message, text, _html = dry_run(config)
    assert "Truce talks yesterday" in text.split("== Older stories found this period ==")[1]


@pytest.mark.parametrize("apostrophe", ["'", "’", "ʼ", "‘", "`"])
@pytest.mark.slow
def test_the_shipped_rule_marks_a_title_whatever_apostrophe_it_uses(tmp_path, apostrophe):
    from markupsafe import escape  # as Jinja escapes: ' is &#39;

    from monitor.rules import match

    title = f"Росія відкинула перемир{apostrophe}я на Великдень"
    text = f"Кремль відкинув пропозицію про перемир{apostrophe}я на Великдень, заявили в МЗС України. " * 3
    a = article(1, "wire", title, text)
    a.matches = match(load_rules(REPO / "rules"), title=title, text=text, lang="uk")
    config = reading_archive(tmp_path, [(a, NOW)])
    _message, text_part, html = dry_run(config)
    word = f"перемир{apostrophe}я"
    assert f'<mark style="background:#ffe58a;">{escape(word)}</mark> на Великдень</a>' in html  # in the linked title
    assert f"відкинула *{word}* на Великдень" in text_part  # the ceasefire hit's snippet is the title


@pytest.mark.parametrize("text, terms, marked", [
    ("Кремль відкинув пропозицію про перемир’я", ["пропозиція", "перемир'я"], ["пропозицію", "перемир’я"]),  # inflected
    ("ceasefires held; a counter-offensive began", ["ceasefire*", "offensiv*"], ["ceasefires", "counter-offensive"]),
    ("КАБами і КАБи", ["=КАБами"], ["КАБами"]),  # =exact: that form only
    ("Ukraine's ceasefire", ['"cease fire"', "Ukraine"], ["Ukraine's"]),
    ("no hit here", ["ceasefire*"], []),
])
def test_marked_words_are_the_ones_the_matcher_reads(text, terms, marked):
    from monitor.digest import _pieces

    pieces = _pieces(text, terms)
    assert "".join(piece for piece, _hit in pieces) == text
    assert [piece for piece, hit in pieces if hit] == marked
