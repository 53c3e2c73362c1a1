"""The Datasette workbench, through Datasette's own client, on an archive our pipeline built."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from conftest import REPO

datasette_app = pytest.importorskip("datasette.app")

from monitor.serve import QUERIES, metadata  # noqa: E402


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "archive.db"
    run = subprocess.run([sys.executable, "-m", "monitor", "demo", "--database", str(path)],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr
    return path


def get(archive, path: str):
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
    pytest.importorskip("datasette_atom")
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
