"""`monitor rules check`, `monitor rules test` and `monitor rematch`, as an analyst uses them."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import REPO, wait_for, write_config
from monitor.cli import cli
from monitor.model import Article, PollResult
from monitor.store import Store
from monitor.daemon import utcnow


def invoke(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.mark.slow
def test_rules_check_ok():
    result = invoke("rules", "check", "--rules", str(REPO / "rules"))
    assert result.exit_code == 0 and "ok (" in result.output


def test_rules_check_shows_file_line_column_and_caret(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: bad\ndescription: x\nquery: (drone OR missile) NEAR/3\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "check", "--rules", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == f"monitor: {tmp_path / 'bad.yaml'}:3:33: the query ends too early"
    assert lines[1] == "query: (drone OR missile) NEAR/3"
    assert lines[2] == " " * 32 + "^"


@pytest.mark.slow
def test_rules_test_explains(tmp_path):
    source = tmp_path / "article.txt"
    source.write_text("Russian offensive near Vovchansk\nTroops pressed on towards Kharkiv as a ceasefire "
                      "proposal was rejected.", encoding="utf-8")
    result = invoke("rules", "test", "--rules", str(REPO / "rules"), str(source))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "offensive in title" in out and "ceasefire in text" in out
    assert "UA-63" in out and '"Kharkiv"' in out and '"Vovchansk"' in out


@pytest.mark.slow
def test_rules_test_reads_stdin():
    result = invoke("rules", "test", "--rules", str(REPO / "rules"), "-", input="Перемир'я\nСторони погодили перемир’я в Херсоні.")
    assert result.exit_code == 0 and "ceasefire" in result.output and "UA-65" in result.output


@pytest.mark.slow
def test_rules_test_jsonl(tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in [
        {"id": "a", "title": "Наступ на Покровськ", "text": "Бої тривають.", "lang": "uk"},
        {"id": "b", "title": "Quarterback praises offensive line", "text": "A good win."},
    ]), encoding="utf-8")
    result = invoke("rules", "test", "--rules", str(REPO / "rules"), "--jsonl", str(cases))
    assert result.exit_code == 0
    lines = [json.loads(l) for l in result.output.splitlines()]
    assert lines == [{"id": "a", "rules": ["offensive"], "places": ["UA-14"]}, {"id": "b", "rules": [], "places": []}]


def _labelled(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "truce.yaml").write_text("name: truce\nquery: truce OR перемир'я\n", encoding="utf-8")
    (rules / "quiet.yaml").write_text("name: quiet\nquery: silence\n", encoding="utf-8")
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in [
        {"id": "hit", "lang": "uk", "text": "Сторони погодили перемир’я в Херсоні.", "rules": ["truce"], "places": ["UA-65"]},
        {"id": "miss", "lang": "en", "text": "The guns fell silent along the front.", "rules": ["truce"], "places": []},
        {"id": "false", "lang": "en", "title": "A trade truce", "text": "Tariffs cut in Sumy.", "rules": [],
         "settlements": [{"name": "Sumy", "code": "UA-59"}]},
        {"id": "place", "lang": "uk", "text": "Вибухи у Харкові та Одесі.", "places": ["UA-63"]},
    ]), encoding="utf-8")
    return rules, cases


def test_rules_eval_scores_each_rule_and_place_and_lists_every_error(tmp_path):
    rules, cases = _labelled(tmp_path)
    result = invoke("rules", "eval", "--rules", str(rules), str(cases))
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.output.splitlines() if line[:1].strip()}
    # truce: tp 1 (hit), fp 1 (the trade truce), fn 1 (the silent guns); `quiet` is labelled nowhere: not scored
    assert rows["truce"] == ["1", "1", "1", "0.50", "0.50", "0.50"]
    assert "quiet" not in rows
    # places: UA-65 and UA-59 (a settlement label) and UA-63 found; Odesa (UA-51) is a false hit
    assert rows["UA-51"] == ["0", "1", "0", "0.00", "1.00", "0.00"]
    assert rows["uk"][:3] == ["2", "1", "0"] and rows["en"][:3] == ["1", "0", "0"]
    out = result.output
    assert "miss  rule truce" in out and "The guns fell silent" in out and "no word of it present" in out
    assert "false rule truce" in out and "terms: truce" in out
    assert "false place UA-51" in out and "Одеса (name)" in out and "Харкові та Одесі" in out


def test_rules_eval_json_and_a_threshold(tmp_path):
    rules, cases = _labelled(tmp_path)
    result = CliRunner().invoke(cli, ["rules", "eval", "--rules", str(rules), "--json", "--rule", "quiet",
                                      "--fail-under", "0.9", str(cases)])
    report = json.loads(result.stdout)
    assert report["rules"] == {"quiet": {"tp": 0, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}}
    assert report["places"]["all"]["fp"] == 1 and {e["id"] for e in report["errors"]} == {"place"}
    assert result.exit_code == 1 and result.stderr == "monitor: F1 under 0.9: places (uk)\n"


def test_rules_eval_names_the_bad_line(tmp_path):
    rules, cases = _labelled(tmp_path)
    cases.write_text('{"id": "a", "text": "x", "rules": []}\n{"id": "b", "text": "y", "rules": "offensive"}\n',
                     encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "eval", "--rules", str(rules), str(cases)])
    assert result.exit_code == 2 and f"{cases}:2: rules: must be a list of names" in result.output


def _archive(tmp_path, n: int):
    config = write_config(tmp_path, [{"url": "https://example.org/feed.xml", "name": "f"}])
    with Store(tmp_path / "archive.db") as store:
        store.sync_feeds([], utcnow())
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('f', 'https://example.org/feed.xml')")
        titles = ["Ceasefire talks in Kherson", "Наступ на Харків", "Weather", "Перемирие в Запорожье"]
        batch = [Article(url=f"https://example.org/{i}", link=None, guid=str(i), feed="f", title=titles[i % 4],
                         text="Officials spoke. " * 20) for i in range(n)]
        store.save_poll(PollResult(feed="f", status=200, articles=batch, next_poll="x"), utcnow())
    return config


@pytest.mark.slow
def test_rematch_tags_the_archive(tmp_path):
    config = _archive(tmp_path, 40)
    result = invoke("--config", str(config), "rematch", "--batch", "7")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        rules = dict(conn.execute("SELECT rule, count(*) FROM matches GROUP BY rule"))
        places = dict(conn.execute("SELECT place, count(*) FROM article_places GROUP BY place"))
        jobs = conn.execute("SELECT count(*) FROM jobs").fetchone()[0]
    assert rules == {"ceasefire": 20, "offensive": 10}
    assert places == {"UA-65": 10, "UA-63": 10, "UA-23": 10}
    assert jobs == 0  # finished jobs leave nothing behind


@pytest.mark.slow
def test_rematch_unknown_rule(tmp_path):
    config = _archive(tmp_path, 2)
    result = CliRunner().invoke(cli, ["--config", str(config), "rematch", "--rule", "nope"])
    assert result.exit_code == 2 and "no rule named 'nope'" in result.output


@pytest.mark.slow
def test_rematch_interrupted_then_resumed(tmp_path):
    config = _archive(tmp_path, 3000)
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "rematch", "--batch", "50"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def progressed():
        with sqlite3.connect(tmp_path / "archive.db", timeout=10) as conn:
            row = conn.execute("SELECT done FROM jobs WHERE name='rematch'").fetchone()
        return bool(row and 0 < row[0])

    assert wait_for(progressed, timeout=60, step=0.02)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        done, last_id = conn.execute("SELECT done, last_id FROM jobs").fetchone()
        tagged = conn.execute("SELECT count(DISTINCT article_id), max(article_id) FROM article_places").fetchone()
    assert 0 < done < 3000 and done == last_id  # ids run 1..3000: the batches done are the first ids
    # Exactly the committed batches are tagged: every place-bearing article up to last_id, none after.
    assert tagged == (sum(1 for i in range(1, last_id + 1) if (i - 1) % 4 != 2), max(i for i in range(1, last_id + 1) if (i - 1) % 4 != 2))
    resumed = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "rematch", "--batch", "50"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {done:,} of 3,000 articles were done" in resumed.stderr
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        assert conn.execute("SELECT count(*) FROM matches").fetchone()[0] == 2250
        assert conn.execute("SELECT count(DISTINCT article_id) FROM article_places").fetchone()[0] == 2250


# Each error at the line and column of its token in the file, through YAML's folding and quoting:
# (file text, line, column, message).
POINTED = [
    pytest.param("name: folded\nquery: >\n  (drone OR missile)\n  NEAR/3 shahed\n  OR of*fensive\n",
                 5, 8, "a wildcard * may only end a word", id="folded"),
    pytest.param("name: literal\nquery: |\n  drone OR\n    missile OR\n  colour:red\n",
                 5, 3, "unknown field 'colour'", id="literal"),
    pytest.param("name: plain\nquery: drone OR OR missile\n", 2, 17, "unexpected 'OR'", id="plain"),
    pytest.param("name: plain-lines\nquery: drone OR\n  missile NEAR/200 shahed\n", 3, 11,
                 "NEAR distance must be 1 to 100 words", id="plain-lines"),
    pytest.param("name: single\nquery: 'it''s OR \"cease fire'\n", 2, 18, "unterminated phrase", id="single-quoted"),
    pytest.param('name: double\nquery: "drone OR \\"cease* fire\\""\n', 2, 18, "in a phrase, a wildcard * may only end the last word",
                 id="double-quoted"),
    pytest.param("name: unknown-set\nquery: >\n  truce\n  AND @nosuch\n", 4, 7, "unknown set @nosuch (sets: none defined)",
                 id="unknown-set"),
    pytest.param("rules:\n  - name: first\n    query: truce\n  - description: second\n    name: second\n"
                 "    query: >-\n      truce\n      AND @nosuch\n", 8, 11, "unknown set @nosuch", id="unknown-set-in-a-list"),
    pytest.param("name: x\n description: y\nquery: a\n", 2, 2, "not valid YAML: mapping values are not allowed here",
                 id="yaml-indentation"),
    pytest.param("name: x\nquery: a\ntags: [a, b\n", 3, 7, "not valid YAML: expected ',' or ']'", id="yaml-unclosed"),
    pytest.param("name: x\nquery: a\npriority: high\n", 3, 11, "`priority` must be a whole number", id="bad-value"),
]


@pytest.mark.parametrize("text, line, column, message", POINTED)
def test_rules_check_points_at_the_token_in_the_file(tmp_path, text, line, column, message):
    rule = tmp_path / "rule.yaml"
    rule.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "check", "--rules", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0].startswith(f"monitor: {rule}:{line}:{column}: {message}"), lines[0]
    # the file's line, and a caret under the column
    assert lines[1:3] == [text.split("\n")[line - 1], " " * (column - 1) + "^"]


def test_check_points_at_a_rule_token_too(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "truce.yaml").write_text("name: truce\nquery: >\n  truce OR\n  @truce_words\n", encoding="utf-8")
    config = write_config(tmp_path, [], rules=rules)
    result = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"monitor: {rules / 'truce.yaml'}:4:3: unknown set @truce_words (sets: none defined)",
        "  @truce_words",
        "  ^",
    ]
