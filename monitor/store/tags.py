"""store.tags: what tagging found on an article, `matches` (one row per rule, with the terms and a
snippet) and `article_places` (ISO 3166-2 codes), and the `places` table they point to, which
lists the gazetteer's regions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Store


class Tags:
    def __init__(self, store: Store):
        self.db = store.db

    def write(self, article_id: int, matches, places, stamp: str) -> None:
        # Raw statements, not insert_all: this runs for every article stored, and insert_all's
        # table check and savepoint made one row cost 72 µs instead of 7 µs (2026-12, this machine).
        for match in matches:
            self.db.execute(
                "INSERT OR REPLACE INTO matches (article_id, rule, field, terms, snippet, matched) VALUES (?,?,?,?,?,?)",
                [article_id, match.rule, match.field, json.dumps(match.terms, ensure_ascii=False), match.snippet, stamp],
            )
        for code in places:
            self.db.execute("INSERT OR IGNORE INTO article_places (article_id, place) VALUES (?, ?)", [article_id, code])

    def replace(self, article_id: int, matches, places, stamp: str, rule: str | None = None) -> None:
        """An article's matches (of one rule, or all) and places, replaced by these."""
        if rule:
            self.db.execute("DELETE FROM matches WHERE article_id=? AND rule=?", [article_id, rule])
            matches = [m for m in matches if m.rule == rule]
        else:
            self.db.execute("DELETE FROM matches WHERE article_id=?", [article_id])
        self.db.execute("DELETE FROM article_places WHERE article_id=?", [article_id])
        self.write(article_id, matches, places, stamp)

    def sync_places(self, places) -> None:
        """The `places` table lists the gazetteer's regions (names in en/uk/ru, country)."""
        with self.db.atomic():
            self.db["places"].upsert_all(
                ({"code": p.code, "name_en": p.name_en, "name_uk": p.name_uk, "name_ru": p.name_ru, "country": p.country}
                 for p in places),
                pk="code",
            )

    def place_names(self, language: str) -> dict[str, str]:
        """Each place code's name in `language` (en, uk, ru), English where that one is missing."""
        column = {"en": "name_en", "uk": "name_uk", "ru": "name_ru"}[language]
        return dict(self.db.execute(f"SELECT code, coalesce(nullif({column}, ''), name_en, code) FROM places").fetchall())
