"""store.digests: what the mail reads and records. The hits of a period (a match with its article,
story and places), the `digests` table (a digest is written 'sending' before the server sees it,
'sent' once accepted, 'failed' on a refusal, 'empty' for a period with no hits, so no period goes
out twice), the `alerts` table (immediate hits, each mailed once) and the spikes of a rule's hits."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..model import from_iso, iso
from .connection import marks

if TYPE_CHECKING:
    from . import Store


class Digests:
    def __init__(self, store: Store):
        self.db = store.db

    def rows(self, since: datetime, until: datetime) -> list[dict]:
        """Every match made in [since, until): the rule, the article, its story and its places."""
        return self._hit_rows("m.matched >= ? AND m.matched < ?", [iso(since), iso(until)])

    def _hit_rows(self, where: str, params: list) -> list[dict]:
        rows = self.db.query(
            "SELECT m.rule, m.snippet, m.terms, a.id AS article_id, a.story_id, a.title, a.url, a.link, a.feed, "
            "a.published, a.fetched, coalesce(s.sources, '[]') AS sources, "
            "(SELECT group_concat(place) FROM article_places p WHERE p.article_id = a.id) AS places "
            "FROM matches m JOIN articles a ON a.id = m.article_id LEFT JOIN stories s ON s.id = a.story_id "
            f"WHERE {where}",
            params,
        )
        return [dict(r, terms=json.loads(r["terms"]), sources=json.loads(r["sources"])) for r in rows]

    def period_start(self, default: datetime) -> datetime:
        """Where the next digest starts: the end of the last one sent (or being sent), else `default`."""
        last = self.last_end()
        return last if last is not None else default

    def last_end(self) -> datetime | None:
        """The end of the last period sent, being sent, or found empty."""
        row = self.db.execute(
            "SELECT max(period_end) FROM digests WHERE status IN ('sent', 'sending', 'empty')"
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def empty(self, start: datetime, end: datetime, now: datetime) -> None:
        """A period with nothing to send is recorded too, so the daemon does not look at it again."""
        with self.db.atomic():
            self.db["digests"].insert({"created": iso(now), "period_start": iso(start), "period_end": iso(end),
                                       "status": "empty", "stories": 0})

    def sending(self, start: datetime, end: datetime, recipients: list[str], message_id: str,
                stories: int, now: datetime) -> int:
        with self.db.atomic():
            return self.db["digests"].insert({
                "created": iso(now), "period_start": iso(start), "period_end": iso(end),
                "recipients": json.dumps(recipients), "status": "sending", "message_id": message_id, "stories": stories,
            }).last_pk

    def done(self, digest_id: int, now: datetime, error: str | None = None) -> None:
        with self.db.atomic():
            self.db["digests"].update(digest_id, {"status": "failed" if error else "sent",
                                                  "sent": None if error else iso(now), "error": error})

    def unalerted(self, rules: list[str], since: datetime) -> list[dict]:
        """Hit rows (as `rows`) of these rules, matched since `since`, not alerted yet."""
        if not rules:
            return []
        return self._hit_rows(
            f"m.rule IN ({marks(rules)}) AND m.matched >= ? "
            "AND NOT EXISTS (SELECT 1 FROM alerts x WHERE x.article_id = m.article_id AND x.rule = m.rule)",
            [*rules, iso(since)],
        )

    def mark_alerts(self, rows: list[dict], status: str | None, now: datetime) -> None:
        """'sending' before the mail goes, 'sent' once accepted; None forgets them (refused: retry)."""
        alerts = self.db["alerts"]
        with self.db.atomic():
            if status is None:
                for row in rows:
                    alerts.delete_where("article_id = ? AND rule = ?", [row["article_id"], row["rule"]])
            else:
                alerts.insert_all(({"article_id": row["article_id"], "rule": row["rule"], "status": status,
                                    "sent": iso(now) if status == "sent" else None} for row in rows), replace=True)

    def spikes(self, now: datetime, window: float, factor: float,
               baseline: timedelta = timedelta(days=7)) -> list[tuple[str, int, float]]:
        """Rules whose hits in the last `window` seconds reach `factor` times their usual rate over the
        `baseline` before it (and at least 3): (rule, hits now, usual hits per window)."""
        recent_start = now - timedelta(seconds=window)
        first = self.db.execute("SELECT min(matched) FROM matches").fetchone()[0]
        if first is None or first > iso(recent_start - baseline / 2):
            return []  # under half the baseline of history: every rule would look like a spike
        rows = self.db.execute(
            "SELECT rule, sum(matched >= ?) AS recent, sum(matched < ?) AS before FROM matches "
            "WHERE matched >= ? AND matched < ? GROUP BY rule",
            [iso(recent_start), iso(recent_start), iso(recent_start - baseline), iso(now)],
        ).fetchall()
        windows = baseline.total_seconds() / window
        out = []
        for rule, recent, before in rows:
            usual = (before or 0) / windows
            if recent >= 3 and recent >= factor * max(usual, 1 / windows):
                out.append((rule, recent, usual))
        return sorted(out, key=lambda r: -r[1])
