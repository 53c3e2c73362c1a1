"""The `monitor` command as a user runs it: exit statuses, messages, the health table, the demo."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import REPO, Loopback, write_config
from monitor.cli import cli

GOOD = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Good</title>
<item><title>Ceasefire holds in the south</title><link>http://good.example/1</link><guid>1</guid>
<description>Both sides reported a quiet night.</description></item></channel></rss>"""


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.slow
def test_check_ok(tmp_path):
    config = write_config(tmp_path, [{"url": "https://example.org/feed.xml"}])
    result = invoke("--config", str(config), "check")
    assert result.exit_code == 0 and "ok (1 feeds, 7 rules" in result.output


def test_check_bad_config_exits_2_naming_file_line_key(tmp_path):
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds:\n  - url: https://example.org/feed.xml\n    colour: red\n")
    result = invoke("--config", str(config), "check")
    assert result.exit_code == 2
    assert f"{config}:3:5: feeds[0].colour: unknown key" in result.output


def test_check_bad_rule_exits_2(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text("name: broken\nkeywords: [a, b\n")
    config = write_config(tmp_path, [{"url": "https://example.org/feed.xml"}], rules=rules)
    result = invoke("--config", str(config), "check")
    assert result.exit_code == 2 and "broken.yaml:" in result.output and "not valid YAML" in result.output


@pytest.mark.parametrize("kind", ["empty", "latin-1"])
def test_check_refuses_an_empty_rules_folder_and_names_a_file_not_in_utf8(tmp_path, kind):
    rules = tmp_path / "rules"
    rules.mkdir()
    if kind == "latin-1":
        (rules / "a.yaml").write_text("name: a\nkeywords: [peace]\n", encoding="utf-8")
        (rules / "latin.yaml").write_bytes("name: latin\n# caf\u00e9\nkeywords: [tr\u00eave]\n".encode("latin-1"))
    config = write_config(tmp_path, [{"url": "https://example.org/feed.xml"}], rules=rules)
    result = invoke("--config", str(config), "check")
    assert result.exit_code == 2
    if kind == "empty":
        assert f"rules folder {rules} holds no rules" in result.output
    else:
        assert f"{rules / 'latin.yaml'}:2: is not UTF-8 text (byte 0xe9)" in result.output


def test_config_from_environment(tmp_path, monkeypatch):
    config = write_config(tmp_path, [{"url": "https://example.org/feed.xml"}])
    monkeypatch.setenv("MONITOR_CONFIG", str(config))
    assert invoke("check").exit_code == 0


@pytest.mark.slow
def test_run_once_exits_0_with_failing_feeds_and_feeds_shows_health(tmp_path):
    with Loopback() as s:
        s.add("/good.rss", GOOD)
        config = write_config(tmp_path, [
            {"url": s.url("/good.rss"), "name": "good", "full_text": False},
            {"url": s.url("/missing.rss"), "name": "missing"},
        ])
        run = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "run", "--once"],
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "2 feeds polled (0 unchanged, 1 failed), 1 new article in " in run.stderr
    assert "fetch: missing: 404 Not Found" in run.stderr  # logged as one event with its context
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        (rule,) = conn.execute("SELECT rule FROM matches").fetchone()
    assert rule == "ceasefire"
    result = CliRunner().invoke(cli, ["--config", str(config), "feeds"], terminal_width=200)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any("good" in l and "feed" in l and " ok " in l and "200" in l for l in lines)
    assert any("missing" in l and "failing (permanent)" in l and "404 Not Found" in l for l in lines)


@pytest.mark.slow
def test_feeds_shows_a_stale_feed(tmp_path):
    from datetime import datetime, timedelta, timezone

    with Loopback() as s:
        s.add("/quiet.rss", GOOD)
        config = write_config(tmp_path, [{"url": s.url("/quiet.rss"), "name": "quiet", "full_text": False}])
        subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "run", "--once"],
                       capture_output=True, text=True, timeout=120, check=True)
    # its articles came in hourly a week ago, and nothing since, though it answers
    week_ago = datetime.now(timezone.utc) - timedelta(days=7)
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        for n in range(6):
            conn.execute("INSERT INTO articles (url, guid, feed, title, text, fetched) VALUES (?, ?, 'quiet', 't', 'x', ?)",
                         [f"https://q.example/{n}", f"q{n}", (week_ago + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ")])
        conn.execute("DELETE FROM articles WHERE url NOT LIKE 'https://q.example/%'")
    result = CliRunner().invoke(cli, ["--config", str(config), "feeds"], terminal_width=200)
    assert result.exit_code == 0
    assert any("quiet" in l and "stale: nothing new since" in l for l in result.output.splitlines()), result.output


@pytest.mark.slow
def test_run_once_with_unusable_database_exits_non_zero(tmp_path):
    (tmp_path / "archive.db").write_bytes(b"this is not a database" * 100)
    config = write_config(tmp_path, [{"url": "http://127.0.0.1:9/feed.xml", "name": "x"}])
    run = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "run", "--once"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "store:" in run.stderr and "not a database" in run.stderr


@pytest.mark.slow
def test_run_once_with_bad_config_exits_2(tmp_path):
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds:\n  - url: notaurl\n")
    run = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "run", "--once"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "feeds.yaml:2:10: feeds[0].url" in run.stderr


@pytest.mark.slow
def test_demo_runs_offline(tmp_path):
    run = subprocess.run([sys.executable, "-m", "monitor", "demo", "--database", str(tmp_path / "demo.db")],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert "Cycle 1: 3 feeds, 9 new articles, 0 failed" in run.stdout
    assert "Cycle 2: 3 of 3 feeds unchanged, 0 new articles" in run.stdout
    with sqlite3.connect(tmp_path / "demo.db") as conn:
        rules = dict(conn.execute("SELECT rule, count(*) FROM matches GROUP BY rule").fetchall())
        sources = dict(conn.execute("SELECT text_source, count(*) FROM articles GROUP BY text_source").fetchall())
        cyrillic = conn.execute("SELECT count(*) FROM articles WHERE url LIKE '%cp1251%' AND text LIKE '%перемири%'").fetchone()[0]
        kherson = conn.execute("SELECT group_concat(place) FROM article_places JOIN articles ON id = article_id "
                               "WHERE title LIKE 'Херсон%'").fetchone()[0]
    assert rules["ceasefire"] == 3 and rules["offensive"] == 2 and rules["energy-attacks"] >= 1
    assert sources == {"page": 8, "feed": 1}  # the one page that 404s keeps its feed summary
    assert cyrillic == 1  # the windows-1251 page came out as Cyrillic
    assert kherson == "UA-65"


@pytest.mark.slow
def test_run_once_reports_progress_per_feed(tmp_path):
    import asyncio

    from monitor import config as config_mod
    from monitor.daemon import Monitor
    from monitor.rules import load_rules
    from monitor.store import Store
    from monitor.workers import Workers

    with Loopback() as s:
        s.add("/good.rss", GOOD)
        config = config_mod.load(write_config(tmp_path, [
            {"url": s.url("/good.rss"), "name": "good", "full_text": False},
            {"url": s.url("/missing.rss"), "name": "missing"},
        ]))
        seen = []
        with Store(config.database) as store, Workers(1) as workers:
            asyncio.run(Monitor(config, store, load_rules(config.rules), workers).run_once(seen.append))
    assert sorted((r.feed, r.new_articles, bool(r.error)) for r in seen) == [("good", 1, False), ("missing", 0, True)]


def test_log_lines_under_the_journal_and_outside(tmp_path):
    import logging

    from monitor.cli import EventFormatter

    record = logging.LogRecord("monitor", logging.WARNING, "", 0, "feed failed", (), None)
    record.feed, record.url = "kyiv independent", "https://x.example/feed"
    plain = EventFormatter(journal=False).format(record)
    journal = EventFormatter(journal=True).format(record)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ WARNING feed failed feed=\"kyiv independent\" url=https://x.example/feed", plain)
    assert journal == '<4>WARNING feed failed feed="kyiv independent" url=https://x.example/feed'  # journald stamps it


@pytest.mark.slow
def test_quiet_and_journal_stream(tmp_path):
    with Loopback() as s:
        s.add("/good.rss", GOOD)
        config = write_config(tmp_path, [{"url": s.url("/good.rss"), "name": "good", "full_text": False},
                                         {"url": s.url("/missing.rss"), "name": "missing"}])
        quiet = subprocess.run([sys.executable, "-m", "monitor", "-q", "--config", str(config), "run", "--once"],
                               capture_output=True, text=True, timeout=120)
        # systemd's JOURNAL_STREAM names the device and inode of the stream it gave as stderr
        with open(tmp_path / "stderr", "w+") as err:
            stat = os.fstat(err.fileno())
            env = dict(os.environ, JOURNAL_STREAM=f"{stat.st_dev}:{stat.st_ino}")
            subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "run", "--once"],
                           stderr=err, env=env, timeout=120, check=True)
            err.seek(0)
            journal = err.read()
    assert quiet.returncode == 0
    assert "WARNING fetch: missing: 404 Not Found" in quiet.stderr and " INFO " not in quiet.stderr
    assert "<4>WARNING fetch: missing: 404 Not Found" in journal and "<6>INFO cycle done" in journal
    assert not re.search(r"^\d{4}-\d\d-\d\dT", journal, re.MULTILINE)
