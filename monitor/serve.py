"""serve: the archive in Datasette, as an analyst's workbench — metadata, facets, canned queries.

`monitor serve` runs Datasette (the `datasette` extra) on the archive with `metadata(name)`:
descriptions of every table and column, full-text search on articles, facets (rule, place, feed,
language, day), labels (place codes show their names) and the canned queries below. Datasette
reads while the daemon writes (WAL); it has no write permission, so it refuses writes.
"""

from __future__ import annotations

from typing import Any

TABLES: dict[str, dict[str, Any]] = {
    "articles": {
        "description": "Every article stored: clean text, its feed, language, story and where its text came from.",
        "fts_table": "articles_fts", "fts_pk": "id", "label_column": "title", "sort_desc": "fetched",
        "facets": ["feed", "lang", "text_source", {"date": "fetched"}],
        "columns": {
            "url": "Canonical URL: tracking parameters, fragment and trailing slash removed; the identity of the article.",
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
        "columns": {"feed": "The feed whose item it was.", "guid": "The item's GUID.", "url": "Its canonical link.",
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

# The canonical URL says https for every site (it is an identity); link to the scheme the feed used.
_URL = "CASE WHEN a.link LIKE 'http://%' AND a.url LIKE 'https://%' THEN 'http://' || substr(a.url, 9) ELSE a.url END"
_HITS = (
    f"SELECT m.rule, a.title, {_URL} AS url, a.feed, a.lang, m.matched, m.snippet, "
    "(SELECT group_concat(p.place, ' ') FROM article_places p WHERE p.article_id = a.id) AS places "
    "FROM matches m JOIN articles a ON a.id = m.article_id"
)

QUERIES: dict[str, dict[str, Any]] = {
    "hits_today": {
        "title": "Today's hits by rule",
        "sql": _HITS + " WHERE m.matched >= date('now') ORDER BY m.rule, m.matched DESC",
    },
    "hits_in_place": {
        "title": "Hits in a place over a period",
        "description": "place: a code (UA-59) or a name in English, Ukrainian or Russian (Sumy, Сумська, Сумская); "
                       "rule: blank for all; days: how far back.",
        "sql": _HITS + " JOIN article_places ap ON ap.article_id = a.id JOIN places pl ON pl.code = ap.place "
               "WHERE (pl.code = upper(:place) OR pl.name_en LIKE :place || '%' OR pl.name_uk LIKE :place || '%' "
               "OR pl.name_ru LIKE :place || '%') AND (:rule = '' OR m.rule = :rule) "
               "AND m.matched >= datetime('now', '-' || :days || ' days') ORDER BY m.matched DESC",
    },
    "story": {
        "title": "A story with all its copies",
        "sql": "SELECT s.id AS story, s.title AS story_title, s.article_count, a.id AS article, a.feed, a.title, a.url, "
               "a.fetched FROM stories s JOIN articles a ON a.story_id = s.id WHERE s.id = :story ORDER BY a.fetched",
    },
    "place_day": {
        "title": "Articles per place and day",
        "sql": "SELECT date(a.fetched) AS day, p.place, pl.name_en, count(*) AS articles FROM article_places p "
               "JOIN articles a ON a.id = p.article_id LEFT JOIN places pl ON pl.code = p.place "
               "GROUP BY day, p.place ORDER BY day DESC, articles DESC",
    },
    "rule_volume": {
        "title": "A rule's hits per day",
        "sql": "SELECT date(matched) AS day, rule, count(*) AS hits FROM matches WHERE (:rule = '' OR rule = :rule) "
               "GROUP BY day, rule ORDER BY day DESC, hits DESC",
    },
    "feed_health": {
        "title": "Feed health",
        "sql": "SELECT name, status, error_count, last_error, article_count, last_success, next_poll FROM feeds "
               "WHERE active = 1 ORDER BY error_count DESC, name",
    },
    "rule_feed": {
        "title": "A rule's hits as an Atom feed (subscribe to /archive/rule_feed.atom?rule=…)",
        "sql": f"SELECT 'monitor:' || m.rule || ':' || a.id AS atom_id, a.title AS atom_title, "
               f"m.matched AS atom_updated, {_URL} AS atom_link, m.snippet AS atom_content, a.feed AS atom_author_name "
               "FROM matches m JOIN articles a ON a.id = m.article_id WHERE m.rule = :rule ORDER BY m.matched DESC LIMIT 100",
    },
    "search": {
        "title": "Search articles, matched words marked **like this**",
        "description": "Full-text search (FTS5): words, \"phrases\", prefix*; case and diacritics do not matter.",
        "sql": "SELECT a.id, a.title, a.feed, a.fetched, snippet(articles_fts, 1, '**', '**', '…', 24) AS text "
               "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid WHERE articles_fts MATCH :q "
               "ORDER BY rank LIMIT 200",
    },
}


def metadata(database: str) -> dict[str, Any]:
    """Datasette metadata for an archive whose database name (the file's stem) is `database`."""
    return {
        "title": "monitor archive",
        "description": "News about the war in Ukraine, tagged with rules and places. Start with the canned "
                       "queries: today's hits, hits in a place, a rule's volume, feed health.",
        "databases": {database: {"tables": TABLES, "queries": QUERIES}},
    }
