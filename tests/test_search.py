"""The search box in the analyst's language: any text is a search, words in every inflection and
apostrophe, phrases, the rule language; in the workbench (Datasette) and from the shell."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO

import datasette.app as datasette_app

from monitor import serve
from monitor.cli import cli
from monitor.model import Article
from monitor.places import load_gazetteer
from monitor.query import Term
from monitor.search import marked, sql, translate
from monitor.store import Store, iso

# --- the pure translation: every box gives an FTS5 expression SQLite accepts -----------------------

def nested(depth: int, op: str) -> str:
    """w0 OR (w1 OR (w2 … (x))): FTS5's parser overflows near 32 nested parentheses."""
    box = "x"
    for i in range(depth):
        box = f"w{i} {op} ({box})"
    return box


ODD_BOXES = [
    "перемир'я", "перемир’я", "перемирʼя", "'", "’", "ʼ", "''", "'дрон", "дрон'",
    '"', '""', '"""', '"у Сумах', 'у Сумах"', '"unbalanced "quotes" here',
    "AND", "OR", "NOT", "AND OR NOT", "дрон AND", "OR дрон", "NOT дрон", "- дрон", "-",
    "NEAR(", "NEAR(a b", "NEAR/", "NEAR/5", "a NEAR/0 b", "a NEAR/1000 b", "NEAR/5 a", "ONEAR/2",
    "*", "**", "a*", "of*", "дрон*", "*дрон", "^дрон", "дрон:", ":", "title:", "place:", "place:UA-59 NEAR/3",
    "", " ", "\t\n", "()", "(", ")", "((дрон)", "дрон))", "{title}: x", "col:x", "@", "@nosuchset", "=", "=дрон",
    "'; DROP TABLE articles; --", "\" OR 1=1 --", "x') UNION SELECT * FROM feeds --", "a\x00b", "_", "__init__",
    "Київ", "café", "ελληνικά", "😀", "1", "2026-11-12", "U.S.", "counter-offensive", "Білгород-Дністровський",
    "a" * 3000, " ".join(["дрон"] * 200),
    *(nested(depth, op) for depth in (20, 40, 100, 160) for op in ("OR", "AND", "NEAR/2", "")),
]


@pytest.fixture(scope="module")
def fts_table():
    conn = sqlite3.connect(":memory:")
    # as store.py makes articles_fts: the same columns, the same tokenizer
    conn.execute("CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, search_folded, "
                 "tokenize='unicode61 remove_diacritics 2')")
    conn.execute("INSERT INTO articles_fts VALUES ('Дрони над Сумами', 'перемир''я перемирʼя', 'перемир''я')")
    yield conn
    conn.close()


@pytest.mark.parametrize("box", ODD_BOXES)
def test_every_box_gives_an_expression_fts5_accepts(fts_table, box):
    search = translate(box)
    if search.fts is not None:
        fts_table.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [search.fts]).fetchall()
    # and the rest of what SQL asks of it does not raise either
    search.matches("Дрони над Сумами", box, "uk", "feed", "UA-59")
    search.snippet("Дрони над Сумами", box)


PIECES = ["AND", "OR", "NOT", "-", "NEAR/3", "NEAR/", "NEAR(", "ONEAR/2", "(", ")", '"', "*", "=", "@", "@drones", ":",
          "title:", "place:", "place:UA-59", "lang:uk", "feed:", "'", "’", "ʼ", "дрон", "Суми", "перемир'я", "of", "x*",
          "{", "}", "^", "+", ",", ";", "--", "/*", "\\", "\x00", " ", "NULL", "1=1"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=12).map(lambda parts: " ".join(parts)))
@pytest.mark.slow
def test_any_text_gives_an_expression_fts5_accepts(fts_table, box):
    search = translate(box, {"drones": (Term(("дрон",)), Term(("kamikaze", "drone*")))})
    if search.fts is not None:
        fts_table.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [search.fts]).fetchall()
    search.matches("Дрони над Сумами", "перемир'я", "uk", "feed", "UA-59")


@pytest.mark.parametrize("box", ["перемир'я", "перемир’я", "перемирʼя", "ПЕРЕМИР’Я"])
def test_every_apostrophe_reads_as_one(box):
    assert translate(box).fts == translate("перемир'я").fts
    assert '"перемир я"' in translate(box).fts  # as unicode61 splits it, in the text and in search_folded


@pytest.mark.parametrize("box, reads_as", [
    ("дрон", "Term"), ('"у Сумах"', "Term"), ("дрон OR Суми", "Or"), ("дрон NEAR/5 Суми", "Near"),
    ("title:(дрон OR Суми)", "Or"), ("place:UA-59", "Meta"), ("дрон -шахед", "And"),
    ("offensive NEAR/10 place:UA-59", "And"),  # a filter is of the whole article: nothing is near it
    ("дрон AND", "Term"), ('"у Сумах', "And"), ("NEAR(", "Term"), ("AND", "Term"),  # plain words
])
def test_the_box_is_the_rule_language_or_else_its_plain_words(box, reads_as):
    assert type(translate(box).node).__name__ == reads_as


@pytest.mark.parametrize("box, exact", [
    ("дрон", True), ("дрон OR Суми", True), ("наступ*", True), ("дрон Суми", True),
    ("дрон -шахед", True), ("дрон -шахед* -мопед", True),  # FTS5's NOT
    ('"у Сумах"', False), ("дрон NEAR/5 Суми", False), ("title:дрон", False), ('дрон -"у Сумах"', False),
    ("дрон place:UA-59", False),
])
def test_the_rules_engine_checks_only_what_fts_cannot_decide(box, exact):
    assert translate(box).exact is exact


def test_a_box_with_nothing_to_look_for_finds_nothing_and_reads_no_article():
    for box in ["", "   ", '"', "*", "()", "'"]:
        search = translate(box)
        # not None, which would make every article a candidate: the empty form Datasette first shows
        assert search.node is None and search.fts == '""' and not search.matches("x", "x")


def test_a_deep_query_is_looked_up_by_any_of_its_words_then_checked():
    search = translate(nested(40, "AND"))
    assert search.node is not None and not search.exact and search.fts.count("(") <= 2 * 41
    words = " ".join(f"w{i}" for i in range(40))
    assert search.matches("", words + " x") and not search.matches("", words)


# --- against a real archive ----------------------------------------------------------------------

NOW = datetime.now(timezone.utc).replace(microsecond=0)

ARTICLES = {  # key: (title, text, lang, hours ago)
    "drony": ("Нічна атака", "Вночі російські дрони атакували Суми, повідомила ОВА.", "uk", 1),
    "droniv": ("Збито кілька дронів", "Над областю сили ППО збили кілька дронів.", "uk", 2),
    "dronamy": ("Удар по місту", "Ворог атакував місто дронами у Сумах, є пошкодження.", "uk", 3),
    "typographic": ("Переговори", "Сторони обговорили перемир’я на кілька днів.", "uk", 4),
    "modifier": ("Оголошення", "Оголошено перемирʼя на Великдень.", "uk", 5),
    "ascii": ("Перемир'я порушено", "Обстріли тривали попри домовленість.", "uk", 6),
    "kharkiv": ("Світло", "У Харкові планові відключення електроенергії.", "uk", 7),
    "sumy_near": ("Front line", "The offensive near Sumy continued as troops advanced on Monday.", "en", 8),
    "sumy_far": ("Officials speak", "The offensive stalled for weeks, officials told reporters on Monday after a long "
                 "meeting held far from the front line in the capital city, while Sumy stayed calm.", "en", 9),
    "donetsk": ("Donetsk", "The offensive near Pokrovsk in Donetsk Oblast continued.", "en", 10),
    "old_drone": ("Архів", "Торік дрони вперше атакували місто.", "uk", 24 * 30),
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The articles stored through the store, tagged with places by the real gazetteer."""
    path = tmp_path_factory.mktemp("search") / "archive.db"
    gazetteer = load_gazetteer()
    ids = {}
    with Store(path) as store:
        store.sync_places(gazetteer.places)
        for key, (title, text, lang, hours) in ARTICLES.items():
            article = Article(url=f"https://news.example/{key}", link=f"https://news.example/{key}", guid=key,
                              feed="wire", title=title, text=text, lang=lang,
                              published=iso(NOW - timedelta(hours=hours)), places=gazetteer.codes(title, text))
            ids[key] = store.save_articles([article], NOW)[0]
    return path, ids


def keys(ids, rows) -> set[str]:
    by_id = {v: k for k, v in ids.items()}
    return {by_id[row["id"]] for row in rows}


def datasette(path):
    serve.register()
    return datasette_app.Datasette([str(path)])


def canned(path, box):
    response = asyncio.run(datasette(path).client.get(f"/{path.stem}/search.json?_shape=array&q={quote(box)}"))
    assert response.status_code == 200, response.text
    return response.json()


DRONES = {"drony", "droniv", "dronamy", "old_drone"}
CEASEFIRE = {"typographic", "modifier", "ascii"}


@pytest.mark.parametrize("box, found", [
    ("дрон", DRONES),  # дрони, дронів, дронами
    ("ДРОН", DRONES),
    ("Суми", {"drony", "dronamy"}),  # Суми, у Сумах
    ("перемир'я", CEASEFIRE), ("перемир’я", CEASEFIRE), ("перемирʼя", CEASEFIRE),
    ('"у Сумах"', {"dronamy"}),  # a phrase stays a phrase: not "Суми" alone
    ('"дронами у Сумах"', {"dronamy"}), ('"у Сумах дронами"', set()),
    ("дрон Суми", {"drony", "dronamy"}),
    ("дрон -Суми", {"droniv", "old_drone"}), ('дрон -"у Сумах"', {"drony", "droniv", "old_drone"}),
    ("offensive NEAR/10 Sumy place:UA-59", {"sumy_near"}),  # NEAR checked by the rules engine; place: on its tags
    ("offensive NEAR/10 place:UA-59", {"sumy_near", "sumy_far"}),
    ("offensive place:UA-14", {"donetsk"}),
    ("place:UA-59 lang:en", {"sumy_near", "sumy_far"}),  # filters only: no word to look up
    ("title:дрон", {"droniv"}),
    ("дрон*", DRONES),
    ("Kharkiv OR Харків", {"kharkiv"}),
])
def test_the_canned_search_finds_what_the_box_means(archive, box, found):
    path, ids = archive
    assert keys(ids, canned(path, box)) == found


@pytest.mark.parametrize("box", ["перемир'я", '"у Сумах', "AND", "NEAR(", "*", '"', "", "дрон NOT",
                                 "'; DROP TABLE articles; --", "x') OR 1=1 --", "@nosuchset", "title:", "_"])
def test_no_box_is_an_error(archive, box):
    path, _ = archive
    canned(path, box)  # 200, not Datasette's "fts5: syntax error"


def test_the_snippet_marks_every_form_of_the_word(archive):
    path, ids = archive
    rows = {row["id"]: row for row in canned(path, "дрон")}
    assert "**дронами** у Сумах" in rows[ids["dronamy"]]["text"]
    assert "**дронів**" in rows[ids["droniv"]]["text"]
    phrase = canned(path, '"у Сумах"')
    assert "**у Сумах**" in phrase[0]["text"]
    apostrophe = {row["id"]: row["text"] for row in canned(path, "перемир'я")}
    assert "**перемирʼя**" in apostrophe[ids["modifier"]] and "**перемир’я**" in apostrophe[ids["typographic"]]


@pytest.mark.parametrize("text, box, snippet", [
    ("Вночі   дрони\nатакували Суми.", "дрон", "Вночі **дрони** атакували Суми."),
    ("Вночі дрони атакували Суми.", '"атакували Суми"', "Вночі дрони **атакували Суми**."),
    ("Вночі дрони атакували Суми.", "place:UA-59", "Вночі дрони атакували Суми."),  # no word: the text's start
    ("x " * 100 + "дрони " + "y " * 100, "дрон", "…" + "x " * 40 + "**дрони** " + "y " * 39 + "y…"),
])
def test_the_snippet(text, box, snippet):
    assert marked(*translate(box).snippet("", text)) == snippet


def test_newest_first(archive):
    path, ids = archive
    assert [row["id"] for row in canned(path, "дрон")] == [ids[k] for k in ("drony", "droniv", "dronamy", "old_drone")]


@pytest.mark.slow
def test_a_set_of_the_rules_folder(archive, monkeypatch):
    path, ids = archive
    monkeypatch.delenv(serve.RULES_ENV, raising=False)
    assert canned(path, "@drones") == canned(path, "drones")  # no rules folder: the name is a word
    assert canned(path, "@дрони") == canned(path, "дрони") != []
    monkeypatch.setenv(serve.RULES_ENV, str(REPO / "rules"))  # as `monitor serve` sets it for Datasette
    assert keys(ids, canned(path, "@drones Суми")) == {"drony", "dronamy"}
    assert keys(ids, canned(path, "@drones")) == DRONES


def test_the_rules_engine_runs_only_on_the_fts_candidates(archive):
    path, _ = archive
    from monitor import search

    conn = sqlite3.connect(path)
    checked = []
    search.install(conn)
    original = conn.create_function

    def counting(q, *article):
        checked.append(article[0])
        return int(translate(q).matches(*article))

    original("monitor_search", 6, counting)
    rows = conn.execute(sql(), {"q": "offensive NEAR/10 Sumy"}).fetchall()
    assert len(rows) == 1 and sorted(checked) == ["Front line", "Officials speak"]  # not all 11 articles
    checked.clear()
    assert len(conn.execute(sql(), {"q": "дрон"}).fetchall()) == 4 and checked == []  # FTS decides alone
    # newest first, and no further than the limit needs: the newest of the four holds
    assert [r[3] for r in conn.execute(sql(limit=1), {"q": 'дрон -"у Сумах"'})] == ["Нічна атака"] and len(checked) == 1
    conn.close()


# --- `monitor serve`, a real server --------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_search_in_a_running_monitor_serve(archive, tmp_path):
    path, ids = archive
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "serve", "--database", str(path), "--port", str(port)],
                            cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        started = threading.Event()
        log: list[str] = []

        def read():
            for line in proc.stderr:
                log.append(line)
                if "Uvicorn running" in line:
                    started.set()
            started.set()

        threading.Thread(target=read, daemon=True).start()
        assert started.wait(120) and proc.poll() is None, "".join(log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            def search(box):
                response = client.get(f"/{path.stem}/search.json", params={"q": box, "_shape": "array"})
                assert response.status_code == 200, response.text
                return keys(ids, response.json())

            assert search("дрон") == DRONES
            assert search("перемирʼя") == search("перемир'я") == CEASEFIRE
            assert search("(@drones NEAR/5 Суми) place:UA-59") == {"drony", "dronamy"}  # the config's rules' sets
            assert search('"у Сумах') == {"dronamy"}  # an unbalanced quote: its plain words
            page = client.get(f"/{path.stem}/search")
            assert page.status_code == 200 and "rule language" in page.text
    finally:
        proc.kill()
        proc.wait(timeout=60)


# --- `monitor search` ------------------------------------------------------------------------------

@pytest.fixture
def bare(tmp_path, monkeypatch):
    """A folder with no feeds.yaml, as the current directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    return tmp_path


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_monitor_search_prints_a_table_in_80_columns(archive, bare):
    path, _ = archive
    result = run("search", "дрон", "--database", str(path))
    assert result.exit_code == 0, result.output
    assert "3 articles" in result.output  # the one of a month ago is past --since's 7d
    assert all(len(line) <= 80 for line in result.output.splitlines()), result.output
    assert "**дронами**" in result.output and "Збито кілька" in result.output and "Архів" not in result.output
    month = run("--database", str(path), "search", "дрон", "--since", "60d", "--limit", "1")
    assert month.exit_code == 0 and "1 article," in month.output and "Нічна атака" in month.output


@pytest.mark.slow
def test_monitor_search_says_when_nothing_matches(archive, bare):
    path, _ = archive
    for box in ["шахед", '"', "NEAR(шахед", "'; DROP TABLE articles; --"]:
        result = run("search", box, "--database", str(path))
        assert result.exit_code == 0 and "no articles match" in result.output, (box, result.output)


def test_monitor_search_names_a_wrong_since_and_a_missing_archive(archive, bare):
    path, _ = archive
    wrong = CliRunner().invoke(cli, ["search", "дрон", "--since", "week", "--database", str(path)])
    assert wrong.exit_code == 2 and "--since" in wrong.output
    missing = CliRunner().invoke(cli, ["search", "дрон", "--database", str(bare / "none.db")])
    assert missing.exit_code == 1 and str(bare / "none.db") in missing.output
    assert not (bare / "none.db").exists()


@pytest.mark.slow
def test_monitor_search_as_a_real_process_without_a_config(archive, bare):
    path, _ = archive
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    done = subprocess.run([sys.executable, "-m", "monitor", "search", "offensive NEAR/10 Sumy", "--database", str(path)],
                          cwd=bare, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 article," in done.stdout and "Front line" in done.stdout and "**offensive**" in done.stdout
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", done.stdout) and "wire" in done.stdout
    assert not list(bare.iterdir())  # no config, no archive made

