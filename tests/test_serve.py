"""The Datasette workbench, through Datasette's own client, on an archive our pipeline built."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from conftest import REPO

import datasette.app as datasette_app  # the test extra installs it: missing is a failure, not a skip
import datasette_atom  # noqa: F401 - the .atom renderer

from monitor import serve  # noqa: E402
from monitor.dedup import text_hash  # noqa: E402
from monitor.model import Article, Match  # noqa: E402
from monitor.places import load_gazetteer  # noqa: E402
from monitor.serve import QUERIES, metadata  # noqa: E402
from monitor.store import Store, iso  # noqa: E402


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "archive.db"
    run = subprocess.run([sys.executable, "-m", "monitor", "demo", "--database", str(path)],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr
    return path


def get(archive, path: str):
    serve.register()  # our plugin, as `monitor serve` has it: the limits and the SQL functions the canned queries use
    ds = datasette_app.Datasette([str(archive)], metadata=metadata(archive.stem))
    return asyncio.run(ds.client.get(path))


PARAMS = {"hits_in_place": "?place=Харків&rule=&days=36500", "story": "?story=1", "rule_volume": "?rule=ceasefire",
          "rule_feed": "?rule=ceasefire",
          "search": "?q=перемирие", "hits_today": "", "place_day": "", "feed_health": ""}


@pytest.mark.parametrize("name", sorted(QUERIES))
@pytest.mark.slow
def test_every_canned_query_runs(archive, name):
    response = get(archive, f"/archive/{name}.json{PARAMS[name]}{'&' if PARAMS[name] else '?'}_shape=array")
    assert response.status_code == 200, response.text
    rows = response.json()
    expected_rows = {"hits_in_place": lambda r: r and all("UA-63" in (x["places"] or "") for x in r),
                     "story": lambda r: len(r) >= 1 and r[0]["story"] == 1,
                     "rule_volume": lambda r: r and {x["rule"] for x in r} == {"ceasefire"} and sum(x["hits"] for x in r) == 3,
                     "search": lambda r: len(r) == 1 and "**перемирие**" in r[0]["text"].lower(),
                     "hits_today": lambda r: len(r) >= 10,
                     "place_day": lambda r: any(x["code"] == "UA-65" and x["place"] == "Kherson Oblast" for x in r),
                     "feed_health": lambda r: {x["name"] for x in r} == {"dnipro-daily", "frontline", "kyiv-wire"},
                     "rule_feed": lambda r: len(r) == 3 and all(x["atom_link"].startswith("http://127.0.0.1") for x in r)}
    assert expected_rows[name](rows), rows


@pytest.mark.parametrize("query", ["перемирие", "ПЕРЕМИРИЕ", "Перемирие"])
def test_search_finds_cyrillic_whatever_its_case(archive, query):
    rows = get(archive, f"/archive/articles.json?_search={query}&_shape=array").json()
    assert len(rows) == 1 and "перемирие" in rows[0]["title"].lower()


def test_facets_and_labels(archive):
    data = get(archive, "/archive/articles.json?_facet=feed&_facet=lang").json()
    feeds = {f["value"]: f["count"] for f in data["facet_results"]["feed"]["results"]}
    assert feeds == {"kyiv-wire": 4, "dnipro-daily": 3, "frontline": 2}
    labelled = get(archive, "/archive/article_places.json?_labels=on&_shape=array&place=UA-65").json()
    assert labelled and labelled[0]["place"]["value"] == "UA-65" and "Kherson" in labelled[0]["place"]["label"]


def test_metadata_describes_every_table_and_column(archive):
    import sqlite3

    described = metadata("x")["databases"]["x"]["tables"]
    with sqlite3.connect(archive) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'articles_fts%'")]
        for table in tables:
            assert described[table]["description"], table
            columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")} - {"id", "name", "url", "code"}
            missing = columns - set(described[table].get("columns", {}))
            assert not missing, (table, missing)


def test_a_rule_as_an_atom_feed(archive):
    ds = datasette_app.Datasette([str(archive)], metadata=metadata(archive.stem))
    response = asyncio.run(ds.client.get("/archive/rule_feed.atom?rule=ceasefire"))
    assert response.status_code == 200 and response.text.count("<entry>") == 3


@pytest.mark.parametrize("sql", ["DELETE FROM articles", "INSERT INTO feeds (name, url) VALUES ('x', 'y')",
                                 "UPDATE matches SET rule = 'x'"])
def test_writes_are_refused(archive, sql):
    from urllib.parse import quote

    response = get(archive, f"/archive.json?sql={quote(sql)}")
    assert response.status_code == 400 and "SELECT" in response.text
    assert get(archive, "/archive/articles.json?_shape=array&_size=max").json()  # nothing was touched



# --- Places by any name: an archive of our own, whose dates are relative to now (the queries' periods) ---

NOW = datetime.now(timezone.utc)
SUMY = "Russian drones struck Sumy overnight, damaging a school and a power line, officials said."
# (feed, guid, title, text, published, rule): published None is a feed that gave no date
PLACED = [
    ("wire", "sumy-1", "Drones hit Sumy", SUMY, NOW - timedelta(days=2), "air-strikes"),
    ("herald", "sumy-1-copy", "Drones hit Sumy", SUMY, NOW - timedelta(days=1), "air-strikes"),  # the same story
    ("wire", "sumshchyna", "Обстріли Сумщини", "Російські війська знову обстріляли Сумщину та прикордонні села.",
     NOW - timedelta(days=3), "air-strikes"),
    ("wire", "sumy-ru", "Взрывы в Сумах", "Ночью в Сумах прогремели взрывы, сообщили местные власти.",
     NOW - timedelta(days=4), "air-strikes"),
    ("wire", "sumy-old", "Sumy a month ago", "A month ago shelling hit Sumy Oblast border villages.",
     NOW - timedelta(days=30), "air-strikes"),  # matched today, published 30 days ago
    ("wire", "kharkov", "Shelling in Kharkov", "Artillery shelled Kharkov again on Tuesday evening.",
     NOW - timedelta(days=1), "offensive"),
    ("wire", "kiev", "Alert in Kiev", "An air raid alert sounded in Kiev for three hours.", None, "air-strikes"),
    ("wire", "nowhere", "Talks resume", "Negotiators met again to discuss a pause in strikes.",
     NOW - timedelta(days=1), "ceasefire"),
]


@pytest.fixture(scope="module")
def placed(tmp_path_factory):
    """An archive (named desk, not archive) of the articles above, tagged by the gazetteer itself."""
    gazetteer = load_gazetteer()
    path = tmp_path_factory.mktemp("placed") / "desk.db"
    with Store(path) as store:
        store.sync_places(gazetteer.places)
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('wire', 'x'), ('herald', 'y')")
        store.save_articles([
            Article(url=f"https://{feed}.example/{guid}", link=None, guid=guid, feed=feed, title=title, text=text,
                    published=published and iso(published), text_hash=text_hash(text),
                    matches=[Match(rule, "text", [], text[:40])], places=gazetteer.codes(title, text))
            for feed, guid, title, text, published, rule in PLACED], NOW)
    return path


def stories(archive, **params) -> dict[str, dict]:
    """hits_in_place's rows by the guid of each story's first article."""
    from urllib.parse import urlencode

    rows = get(archive, f"/{archive.stem}/hits_in_place.json?{urlencode(params)}&_shape=array").json()
    return {row["url"].rsplit("/", 1)[1]: row for row in rows}


@pytest.mark.parametrize("place", ["Суми", "Сумы", "Сумщина", "Sumy", "UA-59", "ua-59", "на Сумщині", "Сумська"])
def test_hits_in_a_place_by_any_name_one_row_per_story(placed, place):
    rows = stories(placed, place=place, rule="", days="")
    assert sorted(rows) == ["sumshchyna", "sumy-1", "sumy-ru"]
    copies = rows["sumy-1"]
    assert copies["articles"] == 2 and sorted(copies["feeds"].split(",")) == ["herald", "wire"]
    assert (copies["first_published"], copies["last_published"]) == (iso(NOW - timedelta(days=2)), iso(NOW - timedelta(days=1)))
    assert all(row["places"] == "UA-59" and row["place_names"] == "Sumy Oblast" for row in rows.values())


@pytest.mark.parametrize("place, expected", [("Kharkov", ["kharkov"]), ("Харків", ["kharkov"]), ("Kiev", ["kiev"]),
                                              ("Києві", ["kiev"]), ("nowhere", [])])
def test_hits_in_a_place_by_other_spellings(placed, place, expected):
    assert sorted(stories(placed, place=place, rule="", days="")) == expected


@pytest.mark.slow
def test_a_feed_without_dates_is_placed_in_time_by_its_fetch(placed):
    kiev = stories(placed, place="Kiev")["kiev"]
    assert kiev["first_published"] == kiev["last_published"] == iso(NOW)


def test_blank_boxes_mean_every_rule_and_place_of_the_last_seven_days(placed):
    everything = ["kharkov", "kiev", "nowhere", "sumshchyna", "sumy-1", "sumy-ru"]
    assert sorted(stories(placed, place="", rule="", days="")) == everything
    assert sorted(stories(placed)) == everything  # no parameters at all: the same defaults
    assert sorted(stories(placed, place=" ", rule="offensive", days=" ")) == ["kharkov"]
    assert sorted(stories(placed, days="a week")) == everything  # not a number: the default, not zero rows


def test_publication_not_match_time_decides_the_period(placed):
    assert "sumy-old" not in stories(placed, place="Sumy", days="7")
    assert sorted(stories(placed, place="Sumy", days="31")) == ["sumshchyna", "sumy-1", "sumy-old", "sumy-ru"]
    recent = stories(placed, place="Sumy", days="1.5")  # only the story's later copy is within
    assert list(recent) == ["sumy-1-copy"] and recent["sumy-1-copy"]["articles"] == 1


def test_place_day_and_rule_volume_name_places(placed):
    days = get(placed, "/desk/place_day.json?_shape=array").json()
    assert {(x["place"], x["code"]) for x in days} >= {("Sumy Oblast", "UA-59"), ("Kharkiv Oblast", "UA-63"),
                                                          ("Kyiv", "UA-30")}
    volume = get(placed, "/desk/rule_volume.json?rule=air-strikes&_shape=array").json()
    assert [(x["rule"], x["hits"], x["top_places"]) for x in volume] == [("air-strikes", 6, "Sumy Oblast 5, Kyiv 1")]
    assert {x["rule"] for x in get(placed, "/desk/rule_volume.json?rule=&_shape=array").json()} == {
        "air-strikes", "offensive", "ceasefire"}


# --- The limits, on a real server: `monitor serve`'s command line (serve.command), on loopback ---

class Workbench:
    """Datasette as `monitor serve` runs it (serve.command) on a free port of 127.0.0.1; its stderr kept."""

    def __init__(self, archive, argv=None, env=None):
        self.proc = subprocess.Popen(argv or serve.command(archive, "127.0.0.1", 0), cwd=REPO, text=True, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self.closed = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            port = self.wait_for(r"Uvicorn running on http://127\.0\.0\.1:(\d+)").group(1)
        except BaseException:
            self.proc.kill()
            raise
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)

    def _read(self):
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait_for(self, pattern: str, start: int = 0, timeout: float = 60) -> re.Match:
        """The first line of the log from line `start` on that matches `pattern`, once the server writes it."""
        found = []

        def seen():
            found[:] = [m for m in (re.search(pattern, line) for line in self.lines[start:]) if m][:1]
            return found or self.closed

        with self._changed:
            self._changed.wait_for(seen, timeout)
        assert found, f"no {pattern!r} in the log:\n{''.join(self.lines)}"
        return found[0]

    def sql(self, sql: str, path: str = "/archive.json") -> httpx.Response:
        return self.client.get(path, params={"sql": sql})

    def peak_memory(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))

    def close(self):
        self.client.close()
        self.proc.kill()  # a step of SQLite's that no limit stops may still be running: no need to wait for it
        self.proc.wait(timeout=60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture(scope="module")
def workbench(archive):
    with Workbench(archive) as running:
        yield running


def timed(request, *args, **kwargs):
    start = time.monotonic()
    response = request(*args, **kwargs)
    return response, time.monotonic() - start


def at_once(requests):
    """Each request (a function) in its own thread at the same time; their answers, as they come."""
    answers, changed = [], threading.Condition()

    def run(request):
        response = request()
        with changed:
            answers.append(response)
            changed.notify_all()

    threads = [threading.Thread(target=run, args=(request,), daemon=True) for request in requests]
    for thread in threads:
        thread.start()
    return answers, changed, threads


TIME_LIMIT = serve.TIME_LIMIT_MS / 1000
RECURSIVE = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
CROSS_JOIN = "SELECT count(*) FROM places a, places b, places c, places d, places e, places f"  # 30^6 rows


@pytest.mark.slow
def test_a_value_past_the_length_limit_fails_at_once(workbench):
    for sql in ["SELECT length(zeroblob(200000000))", "SELECT zeroblob(200000000)", "SELECT randomblob(200000000)",
                "SELECT length(printf('%.*c', 20000000, 'x') || 'y')"]:
        response, took = timed(workbench.sql, sql)
        assert response.status_code == 400 and response.json()["error"] == "string or blob too big", (sql, response.text[:300])
        assert took < TIME_LIMIT, (sql, took)  # it is refused, not built and then cut
    html = workbench.sql("SELECT zeroblob(200000000)", path="/archive")
    assert html.status_code == 400 and "string or blob too big" in html.text
    where = workbench.client.get("/archive/articles.json", params={"_where": "length(zeroblob(200000000)) > 0"})
    assert where.status_code == 400 and where.json()["error"] == "string or blob too big"
    assert workbench.peak_memory() < 2**30  # MemoryMax=1G in monitor-datasette.service; 5.9 GB before
    article = workbench.sql("SELECT length(text) AS n FROM articles ORDER BY n DESC LIMIT 1")
    assert article.status_code == 200 and article.json()["rows"][0][0] > 0  # stored text is well within


@pytest.mark.slow
def test_a_result_past_its_limit_fails(workbench):
    twelve_mib = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 12) SELECT zeroblob(1048576) FROM c"
    response = workbench.sql(twelve_mib)
    assert response.status_code == 400 and response.json()["error"].startswith("result too big"), response.text[:300]
    six_mib = twelve_mib.replace("LIMIT 12", "LIMIT 6")
    assert workbench.sql(f"SELECT count(*) FROM ({six_mib})").json()["rows"] == [[6]]
    assert len(workbench.sql(six_mib).json()["rows"]) == 6
    whole = workbench.client.get("/archive/articles.json?_shape=array&_size=max")
    assert whole.status_code == 200 and len(whole.json()) == workbench.sql("SELECT count(*) FROM articles").json()["rows"][0][0]


def test_printf_cannot_outrun_the_time_limit_in_one_step(workbench):
    # One step of SQLite's: %c repeats its character `precision` times in a loop that never calls the
    # progress handler, and gives NULL after 15 s when the length limit is passed.
    for sql in ["SELECT printf('%.*c', 2000000000, 'x')", "SELECT format('%!.*c', '2000000000', 'x')",
                "SELECT printf('%5.2000000000c', 'x')"]:
        response, took = timed(workbench.sql, sql)
        assert response.status_code == 400 and response.json()["error"] == "string or blob too big", (sql, response.text[:300])
        assert took < TIME_LIMIT, (sql, took)
    fine = workbench.sql("SELECT printf('%.3f|%5d|%-4s|%c|%%|%q|%.*c', 3.14159, 42, 'ab', 'xyz', 'it''s', 5, 'z'), "
                         "format('%,d', 1234567), printf('%s', NULL), printf()")
    assert fine.json()["rows"] == [["3.142|   42|ab  |x|%|it''s|zzzzz", "1,234,567", "", None]]


PAGES = ("/archive/feed_health.json?_shape=array", "/archive/articles", "/archive/places.json?_shape=array")


@pytest.mark.slow
def test_heavy_sql_does_not_starve_the_pages(workbench):
    assert [workbench.client.get(path).status_code for path in PAGES] == [200, 200, 200]  # templates compiled
    heavy = [lambda: workbench.sql(RECURSIVE) for _ in range(6)]
    answers, changed, threads = at_once(heavy)
    with changed:  # those past the ad-hoc slots are turned away at once, while the others run
        assert changed.wait_for(lambda: len(answers) >= len(heavy) - serve.ADHOC_SLOTS, timeout=120)
        early = list(answers)
    pages = [workbench.client.get(path) for path in PAGES]
    with changed:
        heavy_done = [a for a in answers if a.status_code != 429]
    for thread in threads:
        thread.join(timeout=120)
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert not heavy_done, "the pages waited for the heavy queries"
    retry = str(math.ceil(TIME_LIMIT))
    assert {a.status_code for a in early} == {429} and all(a.headers["retry-after"] == retry for a in early)
    assert sorted(a.status_code for a in answers) == [400] * serve.ADHOC_SLOTS + [429] * (len(heavy) - serve.ADHOC_SLOTS)
    assert all("took too long" in a.json()["error"] for a in answers if a.status_code == 400)


@pytest.mark.slow
def test_a_query_is_answered_near_the_time_limit(archive):
    with Workbench(archive) as workbench:
        # SQLite stops these at the limit itself (its progress handler, between steps).
        answers, changed, threads = at_once([lambda sql=sql: timed(workbench.sql, sql) for sql in (RECURSIVE, CROSS_JOIN)])
        for thread in threads:
            thread.join(timeout=120)
        assert len(answers) == 2  # both answered: a hung request would leave nothing to check
        for response, took in answers:
            assert response.status_code == 400 and "took too long" in response.json()["error"]
            assert TIME_LIMIT * 0.9 < took < TIME_LIMIT + 5, took
        # One step no limit stops (instr's search is quadratic: tens of seconds): answered at the time
        # limit and the grace time; it keeps an ad-hoc slot till it ends, and the rest goes on.
        stuck = ("SELECT instr(a, b) FROM (SELECT printf('%.*c', 2000000, 'a') AS a, "
                 "printf('%.*c', 1000000, 'a') || 'b' AS b)")
        response, took = timed(workbench.sql, stuck)
        assert response.status_code == 400 and "took too long" in response.json()["error"], response.text[:300]
        assert took < TIME_LIMIT + serve.ADHOC_GRACE + 5, took
        assert workbench.sql("SELECT 1").json()["rows"] == [[1]]
        assert workbench.client.get("/archive/feed_health.json?_shape=array").status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_to_a_real_server_are_refused_with_405(workbench, method):
    start = len(workbench.lines)
    for path in ["/-/create", "/archive/-/create", "/archive/articles/-/insert", "/archive/articles/-/upsert",
                 "/archive/articles/1/-/update", "/archive/articles/1/-/delete", "/archive/articles/-/drop",
                 "/archive/-/query", "/archive", "/archive/articles", "/archive/hits_today", "/archive.json"]:
        for body in ({"json": {"sql": "DELETE FROM articles", "row": {"title": "x"}}},
                     {"data": {"sql": "DELETE FROM articles"}}):
            response = workbench.client.request(method, path, **body)
            assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD", (path, response.status_code)
            assert "Traceback" not in response.text
    assert workbench.client.get("/archive/articles/-/insert").status_code == 404  # was a 500 (rich on a 404)
    workbench.sql("SELECT no_such_column_marker")  # Datasette logs the failed query: the log is read up to here
    workbench.wait_for("no_such_column_marker", start)
    assert not [line for line in workbench.lines[start:] if "Traceback" in line or "Exception" in line]
    assert workbench.client.get("/archive/articles.json?_shape=array").json()  # nothing was touched


def _big_archive(path, n: int):
    """n articles (60 % stories of their own, the rest copies), hits and places on most, published over 30 days."""
    import random
    import sqlite3

    with Store(path) as store:
        store.sync_places(load_gazetteer().places)
    rng, codes = random.Random(1), [p.code for p in load_gazetteer().places]
    with sqlite3.connect(path) as conn:
        for i in range(1, n + 1):
            story = i if i < 3 or rng.random() < 0.6 else rng.randrange(1, i)
            published = iso(NOW - timedelta(seconds=rng.randrange(30 * 86400)))
            if story == i:
                conn.execute("INSERT INTO stories (id, title, first_seen, last_seen, article_count, representative_id, "
                             "sources) VALUES (?, ?, ?, ?, 1, ?, '[]')", [i, f"t{i}", published, published, i])
            conn.execute("INSERT INTO articles (id, url, url_key, guid, feed, title, text, published, fetched, story_id) "
                         "VALUES (?, ?, ?, ?, 'wire', ?, 'x', ?, ?, ?)",
                         [i, f"https://x.example/{i}", f"https://x.example/{i}", str(i), f"t{i}", published, iso(NOW), story])
            conn.executemany("INSERT INTO matches (article_id, rule, field, terms, snippet, matched) VALUES (?, ?, 'text', "
                             "'[]', 'snippet', ?)", [(i, rule, iso(NOW)) for rule in rng.sample(["a", "b", "c"], rng.randrange(3))])
            conn.executemany("INSERT INTO article_places (article_id, place) VALUES (?, ?)",
                             [(i, code) for code in rng.sample(codes, rng.randrange(4))])


def _steps(path, query: str, params: dict) -> tuple[int, int]:
    """SQLite virtual-machine steps (in thousands) the canned query takes on `path`, and its rows: a
    count of work that the machine's load does not change, where a time would."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        serve.add_place_function(conn)
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        conn.set_progress_handler(count, 1000)
        rows = conn.execute(serve.QUERIES[query]["sql"], params).fetchall()
    return steps[0], len(rows)


@pytest.mark.parametrize("query, params", [("hits_in_place", {"place": "", "rule": "", "days": "30"}),
                                           ("hits_in_place", {"place": "Sumy", "rule": "a", "days": ""}),
                                           ("rule_volume", {"rule": ""})])
@pytest.mark.slow
def test_hits_in_place_and_rule_volume_stay_linear_in_the_hits(tmp_path, query, params):
    """Four times the articles, about four times the work: a subquery per story over the hits (the
    first version) grew with their square, 90 s on 100,000 articles; these take 0.5 s there."""
    small, large = tmp_path / "small.db", tmp_path / "large.db"
    _big_archive(small, 2_000)
    _big_archive(large, 8_000)
    (few, few_rows), (many, many_rows) = _steps(small, query, params), _steps(large, query, params)
    assert few_rows and many_rows
    assert many < 6 * few, (few, many)  # linear: ×4 (and a log factor); quadratic: ×16


# --- `monitor serve` itself, on the desk archive (a database not named archive) ---

@pytest.fixture(scope="module")
def desk(placed, tmp_path_factory):
    """`monitor --database desk.db serve` on a free port, with a temp dir of its own to watch."""
    import os
    import socket

    tmp = tmp_path_factory.mktemp("tmpdir")
    with socket.socket() as probe:  # `monitor serve` takes a real port: a free one, taken back at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-m", "monitor", "--database", str(placed), "serve", "--port", str(port)]
    env = {**os.environ, "TMPDIR": str(tmp), "TEMP": str(tmp), "TMP": str(tmp)}
    with Workbench(placed, argv, env) as running:
        running.tmp = tmp
        yield running


@pytest.mark.slow
def test_monitor_serve_leaves_no_file_behind(desk):
    assert [path.name for path in desk.tmp.iterdir()] == []
    with open(f"/proc/{desk.proc.pid}/cmdline") as cmdline:
        assert "--metadata" not in cmdline.read().split("\0")
    rows = desk.client.get("/desk/hits_in_place.json", params={"place": "Суми", "_shape": "array"}).json()
    assert len(rows) == 3  # our metadata and SQL function are there all the same: through the plugin
    assert [path.name for path in desk.tmp.iterdir()] == []


def test_the_atom_feed_url_in_the_query_title_is_the_served_databases(desk):
    queries = {q["name"]: q for q in desk.client.get("/desk.json").json()["queries"]}
    url = re.search(r"(/\S+\.atom)\?rule=", queries["rule_feed"]["title"]).group(1)
    assert url == "/desk/rule_feed.atom"
    feed = desk.client.get(url, params={"rule": "air-strikes"})
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/xml")
    assert feed.text.count("<entry>") == 6 and "Drones hit Sumy" in feed.text


def test_the_database_page_shows_the_canned_queries_first(desk):
    page = desk.client.get("/desk").text
    queries, sql, tables = page.index('id="queries"'), page.index('id="sql-editor"'), page.index('id="tables"')
    assert queries < sql < tables
    assert page.index("Hits in a place over a period") < sql
    assert "blank: 7" in page[queries:sql]  # each with its description: what a blank box means
