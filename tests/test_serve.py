"""The Datasette workbench, through Datasette's own client, on an archive our pipeline built."""

from __future__ import annotations

import asyncio
import json
import math
import re
import subprocess
import sys
import threading
import time

import httpx
import pytest

from conftest import REPO

import datasette.app as datasette_app  # the test extra installs it: missing is a failure, not a skip
import datasette_atom  # noqa: F401 - the .atom renderer

from monitor import serve  # noqa: E402
from monitor.serve import QUERIES, metadata  # noqa: E402


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "archive.db"
    run = subprocess.run([sys.executable, "-m", "monitor", "demo", "--database", str(path)],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr
    return path


def get(archive, path: str):
    serve.register()  # our plugin: the limits and the search's SQL functions, as `monitor serve` has them
    ds = datasette_app.Datasette([str(archive)], metadata=metadata(archive.stem))
    return asyncio.run(ds.client.get(path))


PARAMS = {"hits_in_place": "?place=Харків&rule=&days=36500", "story": "?story=1", "rule_volume": "?rule=ceasefire",
          "rule_feed": "?rule=ceasefire",
          "search": "?q=перемирие", "hits_today": "", "place_day": "", "feed_health": ""}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_canned_query_runs(archive, name):
    response = get(archive, f"/archive/{name}.json{PARAMS[name]}{'&' if PARAMS[name] else '?'}_shape=array")
    assert response.status_code == 200, response.text
    rows = response.json()
    expected_rows = {"hits_in_place": lambda r: r and all("UA-63" in (x["places"] or "") for x in r),
                     "story": lambda r: len(r) >= 1 and r[0]["story"] == 1,
                     "rule_volume": lambda r: r and {x["rule"] for x in r} == {"ceasefire"} and sum(x["hits"] for x in r) == 3,
                     "search": lambda r: len(r) == 1 and "**перемирие**" in r[0]["text"].lower(),
                     "hits_today": lambda r: len(r) >= 10,
                     "place_day": lambda r: any(x["place"] == "UA-65" and x["name_en"] for x in r),
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



# --- The limits, on a real server: `monitor serve`'s command line (serve.command), on loopback ---

class Workbench:
    """Datasette as `monitor serve` runs it (serve.command) on a free port of 127.0.0.1; its stderr kept."""

    def __init__(self, archive, folder):
        meta = folder / "metadata.json"
        meta.write_text(json.dumps(metadata(archive.stem), ensure_ascii=False))
        self.proc = subprocess.Popen(serve.command(archive, meta, "127.0.0.1", 0), cwd=REPO, text=True,
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
def workbench(archive, tmp_path_factory):
    with Workbench(archive, tmp_path_factory.mktemp("workbench")) as running:
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


def test_a_query_is_answered_near_the_time_limit(archive, tmp_path):
    with Workbench(archive, tmp_path) as workbench:
        # SQLite stops these at the limit itself (its progress handler, between steps).
        answers, changed, threads = at_once([lambda sql=sql: timed(workbench.sql, sql) for sql in (RECURSIVE, CROSS_JOIN)])
        for thread in threads:
            thread.join(timeout=120)
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
