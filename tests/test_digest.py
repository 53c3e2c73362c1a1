"""The digest message: built from the archive, one entry per story, safe with hostile text."""

from __future__ import annotations

import email
from datetime import datetime, timedelta, timezone
from email.policy import default

from click.testing import CliRunner

from conftest import REPO, write_config
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


def test_dry_run_writes_one_entry_per_story_safely(tmp_path, monkeypatch):
    import monitor.cli as cli_module

    config = archive(tmp_path)
    monkeypatch.setattr(cli_module, "_now", lambda: NOW + timedelta(hours=1))
    out = tmp_path / "digest.eml"
    result = CliRunner().invoke(cli, ["--config", str(config), "digest", "--dry-run", "--output", str(out)])
    assert result.exit_code == 0, result.output
    message = email.message_from_bytes(out.read_bytes(), policy=default)
    assert message["Bcc"] is None and "Bcc" not in out.read_text().split("\n\n", 1)[0]
    assert message["Subject"] == "monitor digest 2026-11-25: 1 stories, 1 hits in 1 rules"
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


def test_rules_order_by_priority():
    from monitor.digest import collect

    rules = list(load_rules(REPO / "rules").rules)
    row = dict(rule="", snippet="x", terms=[], article_id=1, story_id=1, title="t", url=None, link=None, feed="f",
               published=None, fetched="2026-11-25T12:00:00Z", sources=["f"], places=None)
    rows = [dict(row, rule="mobilisation"), dict(row, rule="energy-attacks", article_id=2, story_id=2)]
    built = collect(rows, rules, [], NOW, NOW)
    assert [s.rule for s in built.sections] == ["energy-attacks", "mobilisation"]  # priority 3 before 1
