"""store.jobs: long jobs over the archive (`monitor rematch`) record how far they got in the `jobs`
table, so an interrupted one is resumed when its arguments (and the rule set's fingerprint in them)
are the same, and started afresh otherwise."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..model import iso

if TYPE_CHECKING:
    from . import Store


class Jobs:
    def __init__(self, store: Store):
        self.db = store.db
        self.table = store.db["jobs"]

    def start(self, name: str, args: str, total_after) -> dict:
        """The job's row: resumed when its args are the same, started afresh otherwise."""
        row = self.db.execute("SELECT args, last_id, done, total FROM jobs WHERE name=?", [name]).fetchone()
        if row and row[0] == args:
            return {"last_id": row[1], "done": row[2], "total": row[3], "resumed": True}
        total = total_after()
        stamp = iso(datetime.now(timezone.utc))
        with self.db.atomic():
            self.table.insert({"name": name, "args": args, "last_id": 0, "done": 0, "total": total,
                               "started": stamp, "updated": stamp}, replace=True)
        return {"last_id": 0, "done": 0, "total": total, "resumed": False}

    def advance(self, name: str, last_id: int, done: int, stamp: str) -> None:
        """`done` more articles, up to `last_id`: in the transaction that did them."""
        self.db.execute("UPDATE jobs SET last_id=?, done=done+?, updated=? WHERE name=?", [last_id, done, stamp, name])

    def finish(self, name: str) -> None:
        with self.db.atomic():
            self.table.delete_where("name = ?", [name])
