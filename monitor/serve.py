"""serve: the archive in Datasette, as an analyst's workbench — metadata, facets, canned queries.

`monitor serve` runs Datasette (the `datasette` extra) on the archive with `metadata(name)`:
descriptions of every table and column, full-text search on articles, facets (rule, place, feed,
language, day), labels (place codes show their names) and the canned queries below, shown first on
the database page (data/templates/datasette/database.html). Our plugin hands Datasette the metadata
(its get_metadata hook), so nothing is written to disk for it, and gives SQL `monitor_place(name)`,
a typed place name resolved by the gazetteer. Datasette reads while the daemon writes (WAL); it has
no write permission, so it refuses writes.

It runs as `python -m monitor.serve serve …` (`command()`): Datasette with the limits at the end of
this module. SQLite's own limits on every connection (no value over 16 MiB, no result over 8 MiB),
a printf that cannot loop for seconds in one step, at most `ADHOC_SLOTS` ad-hoc SQL queries at once
(429 past them: the canned queries and table pages keep the other threads), an ad-hoc answer by the
time limit plus `ADHOC_GRACE` even when SQLite cannot stop a step, a failed query's cursor closed in
its own thread, and 405 for every method but GET and HEAD.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import os
import re
import sqlite3
import sys
import weakref
from typing import Any, Iterator

from . import search

TABLES: dict[str, dict[str, Any]] = {
    "articles": {
        "description": "Every article stored: clean text, its feed, language, story and where its text came from.",
        "fts_table": "articles_fts", "fts_pk": "id", "label_column": "title", "sort_desc": "fetched",
        "facets": ["feed", "lang", "text_source", {"date": "fetched"}],
        "columns": {
            "url": "The article's link, as the site gave it (scheme and all) less its tracking parameters: the one to follow.",
            "url_key": "Canonical URL (https, tracking parameters, fragment and trailing slash removed): the identity "
                       "of the article, unique, for finding copies; not an address to follow.",
            "link": "The URL as the feed gave it.", "guid": "The feed item's GUID (or its link).",
            "feed": "The feed (feeds.name) it came from first.", "title": "Title, from the feed or the page.",
            "text": "Clean text of the page, or the feed's own text when the page could not be used.",
            "summary": "The feed item's own text.", "published": "Publication time given by the feed or page (UTC).",
            "fetched": "When monitor stored it (UTC).", "lang": "Language (ISO 639-1), detected.",
            "story_id": "The story (stories.id) it belongs to.", "text_source": "'page' or 'feed'.",
            "error": "Why the page's text is not used, when text_source is 'feed'.",
            "revision": "How many times the article's text changed.", "author": "Author, when given.",
            "search_folded": "Diacritic-free forms of its words, for search.", "text_hash": "Hash of the normalised text.",
            "signature": "MinHash signature of the text.",
        },
    },
    "matches": {
        "description": "Rule hits: which rule an article matched, where, on which terms, with a snippet.",
        "facets": ["rule", "field", {"date": "matched"}], "sort_desc": "matched",
        "columns": {"rule": "The rule's name (rules/*.yaml).", "field": "title or text: where the first hit is.",
                    "terms": "The terms that matched (JSON).", "snippet": "Text around the first hit.",
                    "matched": "When the match was made (UTC).", "article_id": "The article."},
    },
    "article_places": {
        "description": "The regions each article names (ISO 3166-2).",
        "facets": ["place"],
        "columns": {"article_id": "The article.", "place": "ISO 3166-2 code, e.g. UA-63 for Kharkiv Oblast."},
    },
    "places": {
        "description": "Ukraine's regions and Russia's Kursk, Belgorod and Bryansk, with their names.",
        "label_column": "name_en",
        "columns": {"code": "ISO 3166-2 code.", "name_en": "Name in English.", "name_uk": "Name in Ukrainian.",
                    "name_ru": "Name in Russian.", "country": "UA or RU."},
    },
    "stories": {
        "description": "One story per article and its syndicated copies.",
        "label_column": "title", "sort_desc": "last_seen",
        "columns": {"title": "The first article's title.", "first_seen": "When the first copy came (UTC).",
                    "last_seen": "When the latest copy came (UTC).", "article_count": "Copies stored.",
                    "representative_id": "The first article.", "sources": "The feeds it came through (JSON)."},
    },
    "feeds": {
        "description": "Each configured feed and its health.",
        "label_column": "name", "facets": ["status", "failure", "kind", "active"],
        "columns": {"status": "Last HTTP status.", "last_error": "The last failure, stage: feed: what happened.",
                    "error_count": "Failures in a row.", "next_poll": "When it is polled next (UTC).",
                    "article_count": "Articles stored from it.", "etag": "Validator for conditional GET.",
                    "body_hash": "Hash of the last body parsed.", "problems": "What parsing had to work round.",
                    "title": "The feed's own title.", "type": "What the config says the URL is: auto, feed, sitemap or page.",
                    "kind": "What the URL turned out to be: feed, sitemap or page.",
                    "hint": "Seconds between polls the feed asks for (RSS ttl, sy:updatePeriod).",
                    "failure": "The last failure's kind: temporary (timeout, 5xx, 429) or permanent (404, 410, not a feed).", "tags": "Labels from the config (JSON).",
                    "active": "1 while the feed is in the config.", "last_modified": "Validator for conditional GET.",
                    "polls_since_full": "Polls since the last one without validators.", "last_poll": "Last poll (UTC).",
                    "last_success": "Last successful poll (UTC)."},
    },
    "sightings": {
        "description": "Feed items that turned out to be an article already stored (\"also in\").",
        "facets": ["feed"],
        "columns": {"feed": "The feed whose item it was.", "guid": "The item's GUID.", "url": "The canonical URL of its link (a key, as articles.url_key).",
                    "article_id": "The article it is a copy of.", "seen": "When (UTC)."},
    },
    "story_bands": {
        "description": "The near-copy index (MinHash LSH band keys) of the last week.", "hidden": True,
        "columns": {"band_key": "One band of a signature, hashed.", "article_id": "The article.", "seen": "When (UTC)."},
    },
    "digests": {
        "description": "Digests built and sent: period, status, Message-ID.", "sort_desc": "created",
        "facets": ["status"],
        "columns": {"period_start": "The period's start (UTC).", "period_end": "Its end (UTC).",
                    "recipients": "To whom (JSON).", "status": "sending, sent, failed or empty.",
                    "sent": "When the server accepted it (UTC).", "message_id": "Its Message-ID.",
                    "error": "Why it failed.", "stories": "Stories in it.", "created": "When it was built (UTC)."},
    },
    "alerts": {
        "description": "Hits mailed at once by `alert: immediate` rules.",
        "columns": {"article_id": "The article.", "rule": "The rule.", "status": "sending or sent.", "sent": "When (UTC)."},
    },
    "jobs": {
        "description": "Progress of resumable jobs (rematch).", "hidden": True,
        "columns": {"name": "The job.", "args": "Its arguments (JSON).", "last_id": "The last article done.",
                    "done": "Articles done.", "total": "Articles in all.", "started": "When (UTC).", "updated": "Last progress (UTC)."},
    },
    "maintenance": {
        "description": "Retention: when the archive was last pruned and vacuumed, and what that did.", "hidden": True,
        "columns": {"key": "prune or vacuum.", "value": "What it did (JSON counts).", "updated": "When (UTC)."},
    },
}

_HITS = (
    "SELECT m.rule, a.title, a.url, a.feed, a.lang, m.matched, m.snippet, "
    "(SELECT group_concat(p.place, ' ') FROM article_places p WHERE p.article_id = a.id) AS places "
    "FROM matches m JOIN articles a ON a.id = m.article_id"
)

# One row per story among the period's hits. The place box goes through the gazetteer
# (monitor_place: a JSON list of codes, NULL when blank), so any alias, spelling or inflection the
# tagger knows finds what it tagged; a period is publication time, fetch time where a feed gave none.
# Each story's first link, last snippet and places come from window functions over the hits, not a
# subquery per story: that took 90 s on 100,000 articles (15,000 stories in 7 days), this 0.5 s.
_STORY_HITS = """
WITH wanted AS (SELECT monitor_place(:place) AS codes),
hits AS (
  SELECT a.id, a.story_id, a.title, a.url, a.feed, m.rule, m.snippet,
         coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', a.published), a.fetched) AS published
  FROM matches m JOIN articles a ON a.id = m.article_id, wanted
  WHERE (trim(:rule) = '' OR m.rule = trim(:rule))
    AND coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', a.published), a.fetched)
        >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || coalesce(nullif(abs(cast(trim(:days) AS REAL)), 0), 7) || ' days')
    AND (wanted.codes IS NULL OR EXISTS (
      SELECT 1 FROM article_places ap WHERE ap.article_id = a.id
        AND ap.place IN (SELECT value FROM json_each(wanted.codes))))
),
ranked AS (
  SELECT h.*, first_value(h.url) OVER (PARTITION BY h.story_id ORDER BY h.published, h.id) AS first_url,
         first_value(h.snippet) OVER (PARTITION BY h.story_id ORDER BY h.published DESC, h.id DESC) AS last_snippet
  FROM hits h
),
story_places AS (SELECT DISTINCT h.story_id, ap.place FROM hits h JOIN article_places ap ON ap.article_id = h.id),
named AS (
  SELECT x.story_id, x.place,
         group_concat(x.place, ' ') OVER story AS places,
         group_concat(coalesce(pl.name_en, x.place), ', ') OVER story AS place_names
  FROM story_places x LEFT JOIN places pl ON pl.code = x.place
  WINDOW story AS (PARTITION BY x.story_id ORDER BY x.place ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
listed AS (SELECT story_id, min(places) AS places, min(place_names) AS place_names FROM named GROUP BY story_id)
SELECT r.story_id AS story, coalesce(s.title, min(r.title)) AS title, min(r.first_url) AS url,
       count(DISTINCT r.id) AS articles, min(r.published) AS first_published, max(r.published) AS last_published,
       group_concat(DISTINCT r.rule) AS rules, group_concat(DISTINCT r.feed) AS feeds,
       min(n.places) AS places, min(n.place_names) AS place_names, min(r.last_snippet) AS snippet
FROM ranked r LEFT JOIN stories s ON s.id = r.story_id LEFT JOIN listed n ON n.story_id = r.story_id
GROUP BY r.story_id ORDER BY last_published DESC, story DESC
"""

# rule_volume names each day's three most named places, with their hits.
_RULE_VOLUME = """
WITH hits AS (SELECT date(matched) AS day, rule, article_id FROM matches WHERE (trim(:rule) = '' OR rule = trim(:rule))),
named AS (
  SELECT h.day, h.rule, coalesce(pl.name_en, ap.place) AS place, count(*) AS hits,
         row_number() OVER (PARTITION BY h.day, h.rule ORDER BY count(*) DESC, ap.place) AS rank
  FROM hits h JOIN article_places ap ON ap.article_id = h.article_id LEFT JOIN places pl ON pl.code = ap.place
  GROUP BY h.day, h.rule, ap.place
),
listed AS (
  SELECT day, rule, group_concat(place || ' ' || hits, ', ') OVER (
           PARTITION BY day, rule ORDER BY rank ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS top_places,
         rank
  FROM named WHERE rank <= 3
)
SELECT v.day, v.rule, v.hits, t.top_places
FROM (SELECT day, rule, count(*) AS hits FROM hits GROUP BY day, rule) v
LEFT JOIN listed t ON t.day = v.day AND t.rule = v.rule AND t.rank = 1
ORDER BY v.day DESC, v.hits DESC
"""

QUERIES: dict[str, dict[str, Any]] = {
    "hits_today": {
        "title": "Today's hits by rule",
        "sql": _HITS + " WHERE m.matched >= date('now') ORDER BY m.rule, m.matched DESC",
    },
    "hits_in_place": {
        "title": "Hits in a place over a period, one row per story",
        "description": "place: a code (UA-59) or any name of a region or town in English, Ukrainian or Russian, "
                       "in any spelling or case ending (Sumy, Суми, Сумы, Сумщина, на Сумщині, Kharkov, Kiev); "
                       "blank: every place. rule: blank for all. days: how far back publication goes (fetch "
                       "time where a feed gave none); blank: 7 (also when not a number). A story's row counts its articles among the "
                       "hits and gives their first and last publication.",
        "sql": _STORY_HITS.strip(),
    },
    "story": {
        "title": "A story with all its copies",
        "sql": "SELECT s.id AS story, s.title AS story_title, s.article_count, a.id AS article, a.feed, a.title, a.url, "
               "a.fetched FROM stories s JOIN articles a ON a.story_id = s.id WHERE s.id = :story ORDER BY a.fetched",
    },
    "place_day": {
        "title": "Articles per place and day",
        "sql": "SELECT date(a.fetched) AS day, coalesce(pl.name_en, p.place) AS place, p.place AS code, "
               "count(*) AS articles FROM article_places p "
               "JOIN articles a ON a.id = p.article_id LEFT JOIN places pl ON pl.code = p.place "
               "GROUP BY day, p.place ORDER BY day DESC, articles DESC",
    },
    "rule_volume": {
        "title": "A rule's hits per day, with the places most named",
        "description": "rule: blank for all. top_places: the three places its hits name most that day, with their hits.",
        "sql": _RULE_VOLUME.strip(),
    },
    "feed_health": {
        "title": "Feed health",
        "sql": "SELECT name, status, error_count, last_error, article_count, last_success, next_poll FROM feeds "
               "WHERE active = 1 ORDER BY error_count DESC, name",
    },
    "rule_feed": {
        "title": "A rule's hits as an Atom feed",  # metadata() adds the feed's URL on the database served
        "sql": "SELECT 'monitor:' || m.rule || ':' || a.id AS atom_id, a.title AS atom_title, "
               "m.matched AS atom_updated, a.url AS atom_link, m.snippet AS atom_content, a.feed AS atom_author_name "
               "FROM matches m JOIN articles a ON a.id = m.article_id WHERE m.rule = :rule ORDER BY m.matched DESC LIMIT 100",
    },
    "search": {
        "title": "Search articles, matched words marked **like this**",
        "description": "Type anything: words find every inflection (дрон: дрони, дронів, дронами; Суми: у Сумах) and "
                       "every apostrophe (перемир'я, перемир’я, перемирʼя), with or without diacritics; \"a phrase\", "
                       "prefix*, =exact, and the rule language: AND, OR, NOT or -word, NEAR/5, title:, place:UA-59, "
                       "lang:uk, feed:name, @set. Newest first, 200 at most.",
        "sql": search.sql(limit=200),
    },
}


def metadata(database: str) -> dict[str, Any]:
    """Datasette metadata for an archive whose database name (the file's stem) is `database`."""
    from .text import tilde  # Datasette's own spelling of a database name in its URLs

    feed = f"/{tilde(database)}/rule_feed.atom?rule=…"
    queries = {**QUERIES, "rule_feed": {**QUERIES["rule_feed"], "title": f"{QUERIES['rule_feed']['title']} ({feed})",
                                        "description": f"rule: the rule whose hits to follow; subscribe to {feed}, "
                                                       "the rule's name after rule=."}}
    return {
        "title": "monitor archive",
        "description": "News about the war in Ukraine, tagged with rules and places. Start with the canned "
                       "queries: today's hits, hits in a place, a rule's volume, feed health.",
        "databases": {database: {"tables": TABLES, "queries": queries}},
    }


def served_metadata(names: Any) -> dict[str, Any]:
    """The metadata of every database Datasette serves (their names), internal ones (_internal) aside.
    A fresh copy each time, since Datasette merges other metadata into what a hook returns; it asks
    178 times for one database page, so the copy is parsed from JSON made once (0.05 ms, not 0.7)."""
    return json.loads(_metadata_json(tuple(name for name in names if not name.startswith("_"))))


@functools.lru_cache(maxsize=8)
def _metadata_json(names: tuple[str, ...]) -> str:
    merged: dict[str, Any] = {"databases": {}}
    for name in names:
        one = metadata(name)
        merged.update({key: value for key, value in one.items() if key != "databases"})
        merged["databases"].update(one["databases"])
    return json.dumps(merged, ensure_ascii=False)


def place_codes(gazetteer: Any, name: Any) -> str | None:
    """SQL monitor_place(name): the codes `gazetteer` resolves a typed name to, as a JSON list (a place
    box); NULL for a blank box, which means every place."""
    if name is None or not str(name).strip():
        return None
    return json.dumps(gazetteer.resolve(str(name)))


def add_place_function(conn: sqlite3.Connection) -> None:
    """monitor_place() on `conn`. The gazetteer is loaded here, once per process: its second (1 s on
    this machine) would count against the time limit of the first query that asked for a place."""
    from .places import load_gazetteer

    conn.create_function("monitor_place", 1, functools.partial(place_codes, load_gazetteer()), deterministic=True)


@functools.lru_cache(maxsize=4)
def _rule_sets(folder: str | None) -> dict:
    """The search box's @sets, read once per process and folder, not again for every connection
    Datasette opens (each thread has its own)."""
    return search.load_sets(folder)


def templates() -> str:
    """The folder of our Datasette templates (database.html: the canned queries first)."""
    from importlib import resources

    return str(resources.files("monitor") / "data" / "templates" / "datasette")


# --- Limits ------------------------------------------------------------------------------------
# Datasette cuts a query at sql_time_limit_ms with SQLite's progress handler, which SQLite calls
# between virtual-machine steps. One step can be huge: zeroblob(200000000) allocated 5.9 GB on its
# way to the page, printf('%.*c', 2000000000, 'x') loops for 15 s inside one step. The limits below
# bound what one step can build, and what one query can hand to Datasette to render.

TIME_LIMIT_MS = 3000
VALUE_LIMIT = 16 * 2**20  # SQLITE_LIMIT_LENGTH: the longest string, blob or row SQLite builds or reads
RESULT_LIMIT = 8 * 2**20  # characters and bytes of text and blobs one query may return
PATTERN_LIMIT = 1000  # SQLITE_LIMIT_LIKE_PATTERN_LENGTH (default 50,000): GLOB '*[…]' costs text × pattern
SQL_THREADS = 5  # Datasette's num_sql_threads; ad-hoc SQL may hold at most ADHOC_SLOTS of them
ADHOC_SLOTS = 2
ADHOC_GRACE = 3.0  # seconds past the time limit before an ad-hoc query is answered without its result
SETTINGS: dict[str, int] = {"sql_time_limit_ms": TIME_LIMIT_MS, "facet_time_limit_ms": 500,
                            "num_sql_threads": SQL_THREADS}
RULES_ENV = "MONITOR_SERVE_RULES"  # the rules folder whose @sets the search box knows (set by `monitor serve`)
ADHOC_PARAMETERS = ("sql", "_where")  # the query string parameters that carry SQL of the reader's


def command(database: Any, host: str, port: int) -> list[str]:
    """The command line that serves `database` (what `monitor serve` execs). Our metadata comes from the
    plugin (register()), so no file is written for it."""
    argv = [sys.executable, "-m", "monitor.serve", "serve", str(database), "--template-dir", templates(),
            "--host", host, "--port", str(port)]
    for name, value in SETTINGS.items():
        argv += ["--setting", name, str(value)]
    return argv


def limit_connection(conn: sqlite3.Connection) -> None:
    """SQLite's limits, a printf that checks its widths and a row factory that counts the result, on `conn`."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_LIMIT)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, PATTERN_LIMIT)
    printf = _Printf()
    conn.create_function("printf", -1, printf, deterministic=True)
    conn.create_function("format", -1, printf, deterministic=True)
    conn.row_factory = _ResultLimit(RESULT_LIMIT)


class _Printf:
    """SQLite's printf, but a width or precision over VALUE_LIMIT with %c fails at once ("string or blob too big").

    SQLite refuses every other oversized conversion before it allocates, but %c repeats its character
    `precision` times in a loop that never reaches the progress handler, and returns NULL at the end.
    With a %c in the format, any number over the limit among the arguments is taken for its width.
    The formatting itself is SQLite's, on a private in-memory connection with the same length limit.
    """

    _SPEC = re.compile(r"%[-+ #!0,.*0-9]*l{0,2}(.)", re.S)
    _NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

    def __init__(self) -> None:
        self._sqlite = sqlite3.connect(":memory:", check_same_thread=False)
        self._sqlite.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_LIMIT)
        self._sqlite.text_factory = lambda b: str(b, "utf-8", "replace")

    def __call__(self, *args: Any) -> Any:
        fmt = args[0] if args else None
        if isinstance(fmt, bytes):
            fmt = str(fmt, "utf-8", "replace")
        if isinstance(fmt, str):
            specs = list(self._SPEC.finditer(fmt))
            if any(m.group(1) == "c" for m in specs):
                widths = [int(d) for m in specs for d in re.findall(r"\d+", m.group(0))]
                widths += [n for value in args[1:] for n in self._integers(value)]
                if any(abs(n) > VALUE_LIMIT for n in widths):
                    raise OverflowError("printf: width or precision over the length limit")  # SQLITE_TOOBIG
        try:
            return self._sqlite.execute(f"SELECT printf({', '.join('?' * len(args))})", args).fetchone()[0]
        except sqlite3.DataError as exc:
            raise OverflowError(str(exc)) from None

    @classmethod
    def _integers(cls, value: Any) -> list[int]:
        """The integers SQLite may take `value` for as a width (its int64, then that cut to a C int)."""
        if isinstance(value, bytes):
            value = str(value, "utf-8", "replace")
        if isinstance(value, str):
            m = cls._NUMBER.match(value)
            value = float(m.group(0)) if m else 0
        if isinstance(value, float):
            value = 2**63 - 1 if math.isnan(value) else int(max(min(value, 2.0**63 - 1), -(2.0**63)))
        if not isinstance(value, int):
            return []
        return [value, (value + 2**31) % 2**32 - 2**31]


class _ResultLimit:
    """Row factory (sqlite3.Row) that fails a query once its rows hold more than `limit` characters and bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._sizes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __call__(self, cursor: sqlite3.Cursor, row: tuple) -> sqlite3.Row:
        size = sum(len(v) for v in row if isinstance(v, (str, bytes)))
        if size:
            seen = self._sizes.get(cursor)
            if seen is None or seen[0] is not cursor.description:  # a new statement on this cursor
                seen = self._sizes[cursor] = [cursor.description, 0]
            seen[1] += size
            if seen[1] > self.limit:
                raise sqlite3.OperationalError(
                    f"result too big: its text and blobs pass {self.limit // 2**20} MiB; "
                    "ask for fewer rows or columns, or parts of long values with substr()")
        return sqlite3.Row(cursor, row)


def _closing_cursors(timelimit: Any) -> Any:
    """Datasette's time limit around a query, and the cursor of a query that failed closed at once, in its thread.

    The failure's traceback holds the cursor, and Datasette keeps the error in a frame of that very
    traceback: a cycle, which the garbage collector broke later in whatever thread it ran. In the
    event loop's, finalizing the cursor waited for its connection's mutex, while that connection
    ran its thread's next query: every page stood still until a heavy query ended.
    """

    @contextlib.contextmanager
    def limit(conn: sqlite3.Connection, ms: float) -> Iterator[None]:
        with timelimit(conn, ms):
            try:
                yield
            except BaseException as exc:
                tb = exc.__traceback__
                while tb is not None:
                    for value in list(tb.tb_frame.f_locals.values()):
                        if isinstance(value, sqlite3.Cursor) and value.connection is conn:
                            with contextlib.suppress(sqlite3.Error):
                                value.close()
                    tb = tb.tb_next
                raise

    return limit


class _Lane:
    """At most `slots` ad-hoc queries at once; a slot is free only once its query's thread is."""

    def __init__(self, slots: int) -> None:
        self.slots, self.busy = slots, 0

    def release(self, task: asyncio.Future) -> None:
        self.busy -= 1
        if not task.cancelled():
            task.exception()  # retrieved: an answer cut by the grace time may fail later, unseen


def _adhoc(scope: dict) -> bool:
    from urllib.parse import parse_qs

    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return any(name in query for name in ADHOC_PARAMETERS)


async def _answer(scope: dict, send: Any, status: int, message: str, headers: list | None = None) -> None:
    if scope.get("path", "").endswith(".json"):
        body, kind = json.dumps({"ok": False, "error": message, "status": status}), b"application/json; charset=utf-8"
    else:
        body, kind = message + "\n", b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), *(headers or [])]})
    await send({"type": "http.response.body", "body": body.encode()})


def limit_requests(app: Any, time_limit: float, slots: int = ADHOC_SLOTS, grace: float = ADHOC_GRACE) -> Any:
    """ASGI: 405 for every method but GET and HEAD; ad-hoc SQL in `slots` at most, answered by time_limit + grace."""
    lane = _Lane(slots)
    retry = str(max(1, math.ceil(time_limit)))

    async def limited(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD"):
            return await _answer(scope, send, 405, f"{scope['method']} is not allowed: the archive is read-only here",
                                 [(b"allow", b"GET, HEAD")])
        if not _adhoc(scope):
            return await app(scope, receive, send)
        if lane.busy >= lane.slots:
            return await _answer(scope, send, 429, f"{lane.slots} ad-hoc SQL queries are running already, "
                                 "which is as many as run at once; try again in a few seconds",
                                 [(b"retry-after", retry.encode())])
        state = {"started": False, "answered": False}

        async def guarded(message: dict) -> None:
            if state["answered"]:
                return  # answered at the grace time: the late result goes nowhere
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        lane.busy += 1
        task = asyncio.ensure_future(app(scope, receive, guarded))
        task.add_done_callback(lane.release)
        await asyncio.wait({task}, timeout=time_limit + grace)
        if not task.done() and not state["started"]:
            state["answered"] = True  # SQLite is inside one long step: the query's slot stays taken until it ends
            return await _answer(scope, send, 400, f"SQL query took too long: the time limit is "
                                 f"{time_limit * 1000:.0f} ms and SQLite could not stop it in time; it holds one "
                                 f"of the {lane.slots} ad-hoc slots until it ends")
        return await task

    return limited


def register() -> None:
    """Install our plugin in this process's Datasette (once): the limits, the metadata of every database
    served, SQL monitor_place(); `main()` does it before Datasette starts."""
    import datasette.database
    import datasette.handle_exception
    from datasette import hookimpl
    from datasette.plugins import pm

    if pm.has_plugin("monitor.serve"):
        return

    class Limits:  # a plugin as Datasette lists them: an object with hooks and a __name__
        @staticmethod
        @hookimpl
        def prepare_connection(conn: sqlite3.Connection, datasette: Any) -> None:
            limit_connection(conn)
            add_place_function(conn)
            search.install(conn, _rule_sets(os.environ.get(RULES_ENV)))

        @staticmethod
        @hookimpl
        def get_metadata(datasette: Any) -> dict[str, Any]:
            return served_metadata(datasette.databases)

        @staticmethod
        @hookimpl
        def asgi_wrapper(datasette: Any) -> Any:
            time_limit = datasette.setting("sql_time_limit_ms") / 1000
            return lambda app: limit_requests(app, time_limit)

        @staticmethod
        @hookimpl
        def handle_exception(datasette: Any, request: Any, exception: Exception) -> Any:
            # A value past the length limit in a table page's SQL (?_where=) is the reader's error, as it is
            # on a query page, where Datasette shows it with 400; elsewhere it would be a 500.
            if isinstance(exception, sqlite3.DataError):
                from datasette.handle_exception import handle_exception as default
                from datasette.views.base import DatasetteError

                return default(datasette, request, DatasetteError(str(exception), title="Too big", status=400))
            return None

    Limits.__name__ = "monitor.serve"
    pm.register(Limits, name="monitor.serve")
    datasette.database.sqlite_timelimit = _closing_cursors(datasette.database.sqlite_timelimit)
    # Datasette's default error page prints the exception with rich when rich is installed (monitor
    # needs it), which raises for a 404 that is not an exception being handled: every path no view
    # matches (/archive/articles/-/insert) answered 500. Without rich it prints a plain traceback.
    datasette.handle_exception.rich = None


def main(argv: list[str] | None = None) -> None:
    """`python -m monitor.serve serve …`: the datasette command, with the limits."""
    from datasette.cli import cli

    register()
    cli.main(args=argv, prog_name="datasette")


if __name__ == "__main__":
    from monitor.serve import main as _main  # the plugin is monitor.serve's, not a copy in __main__

    _main()
