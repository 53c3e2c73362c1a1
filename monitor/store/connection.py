"""store.connection: the archive's one SQLite connection and what every table family shares:
opening it (WAL, synchronous, timeouts), the transactions, sqlite3 errors told apart as the
error tree's StoreError kinds, and the ISO times every table stores."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import sqlite_utils

from ..errors import StoreError, StoreFull, store_error

BUSY_TIMEOUT_MS = 15_000
WAL_LIMIT = 64 * 2**20  # the WAL file is cut back to this after a checkpoint (a VACUUM writes the whole file to it)
# Below this much free space on the archive's filesystem it counts as full: SQLite needs room for
# the WAL and its temporary files before any write.
MIN_FREE_BYTES = 4 * 2**20


def connect(path: Path, busy_ms: int) -> sqlite_utils.Database:
    """The archive's connection in WAL mode; sqlite3 errors are the caller's to translate."""
    # check_same_thread off: the daemon opens it on the loop and hands it to a writer thread
    conn = sqlite3.connect(str(path), timeout=busy_ms / 1000, check_same_thread=False)
    try:
        db = sqlite_utils.Database(conn)
        db.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"store: {path}: cannot use WAL journal mode (got {mode})")
        # NORMAL in WAL mode: a killed process loses nothing committed; a power cut may lose the
        # last transactions but never corrupts, and what was lost is fetched again, not doubled.
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
    except BaseException:
        conn.close()  # tried again at start while another writer holds the lock
        raise
    return db


def error(path: Path, message: str, exc: Exception) -> StoreError:
    """store_error, knowing the disk: where writing the WAL or its index meets ENOSPC, SQLite
    says only "disk I/O error"; with the disk nearly full that is the full archive it is."""
    translated = store_error(message, exc)
    if type(translated) is StoreError and "disk I/O error" in str(exc):
        try:
            free = shutil.disk_usage(path.parent).free
        except OSError:
            return translated
        if free < MIN_FREE_BYTES:
            return StoreFull(f"{message}: {exc} ({free / 2**20:.1f} MiB free)")
    return translated


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[None]:
    """A write transaction that takes the lock at once: what it read cannot change before it writes."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")


@contextmanager
def busy_timeout(db: sqlite_utils.Database, ms: int) -> Iterator[None]:
    """At most `ms` of waiting for another writer's lock inside the block (never more than before)."""
    before = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute(f"PRAGMA busy_timeout = {min(int(ms), before)}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA busy_timeout = {before}")


def probe(db: sqlite_utils.Database) -> None:
    """Allocate a few pages in a transaction rolled back: raises what a write would meet now
    (SQLITE_FULL from max_page_count or a quota, a lock)."""
    conn = db.conn
    conn.execute("SAVEPOINT probe")
    try:
        conn.execute("CREATE TABLE probe_write (b BLOB)")
        conn.execute("INSERT INTO probe_write VALUES (zeroblob(?))", [4 * db.execute("PRAGMA page_size").fetchone()[0]])
    finally:
        conn.execute("ROLLBACK TO probe")
        conn.execute("RELEASE probe")


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def marks(values: list) -> str:
    """The `?, ?, …` of an IN (…) over these values."""
    return ",".join("?" * len(values))


def chunks(values: list, length: int = 500) -> Iterable[list]:
    """Slices short enough for one IN (…) each (SQLite's limit on bound values)."""
    for start in range(0, len(values), length):
        yield values[start : start + length]
