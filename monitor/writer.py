"""writer: the daemon's archive writes, on a thread of their own, so the event loop never waits on SQLite.

Another writer (`monitor rematch`, `prune`, a backup, a `sqlite-utils` shell) may hold the archive's
write lock for seconds or minutes. A write made on the event loop would wait there in SQLite's busy
handler, and with it every fetch, the timers and the watchdog's pings. Here a write is a job: the
loop queues it and awaits its future, and one thread runs the jobs in order on its own connection.
While the lock is held elsewhere the job is tried again (a short busy timeout, then a pause) until
the lock clears: the feed whose write it is waits, the loop goes on, and nobody records an error for
a lock that is not theirs. Reads stay on the loop's own connection: in WAL mode a reader never waits
for a writer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from typing import Any, Callable

from .errors import StoreBusy, StoreFull, StoreUnavailable
from .store import Store

log = logging.getLogger("monitor")

# SQLite's own wait for the lock, per try. Short, so a stop is seen between tries; the waiting
# itself is the retry loop's.
BUSY_MS = 250
RETRY_MAX = 1.0  # seconds between tries, at most (from 50 ms, doubling)
BUSY_WARN_AFTER = 1.0  # a wait shorter than this (our own two writers crossing) is not worth a line


def open_store(path, *, story_window: float, stopping: Callable[[], bool] = lambda: False,
               waiting: Callable[[float, str], None] = lambda seconds, why: None) -> Store | None:
    """The archive, opened once it can be: a fresh file's schema and the switch to WAL need the
    write lock and some room on the disk. A daemon that exits here is restarted by systemd into the
    same lock or the same full disk; one that waits starts the moment they clear.
    `waiting(seconds, why)` is called between tries (to keep systemd's start timeout away); None
    when `stopping()` says a stop came first."""
    pause, since, said = 0.05, time.monotonic(), 0.0
    while True:
        try:
            store = Store(path, story_window=story_window, busy_ms=BUSY_MS)
        except (StoreBusy, StoreFull) as exc:
            waited = time.monotonic() - since
            why = "full" if isinstance(exc, StoreFull) else "busy"
            if waited >= BUSY_WARN_AFTER and (not said or waited - said >= 60):  # once a minute at most
                said = waited
                log.warning(f"archive {why} at start: " + ("no room to write its schema" if why == "full" else
                            "another writer holds the lock") + "; waiting",
                            extra={"database": str(path), "error": str(exc)})
            if stopping():
                return None
            waiting(waited, why)
            time.sleep(pause)
            pause = min(RETRY_MAX, pause * 2)
            continue
        if said:
            log.info("archive ready again: starting", extra={"database": str(path), "waited": round(time.monotonic() - since, 1)})
        return store


class Writer:
    """One thread owning `store` (its connection): `await writer.run(fn, *args)` runs
    fn(store, *args) there, in the order asked, and returns what it returned.

    With `retry` (the default) a job that meets another writer's lock is run again until the lock
    clears, so it must be one transaction, or several that may be repeated. Without it (the mail:
    a digest must not be sent twice) the job waits in the store's own busy timeout and a StoreBusy
    is the caller's."""

    def __init__(self, store: Store, *, name: str = "archive-writer", retry: bool = True):
        self.store = store
        self.retry = retry
        if retry:
            self.store.db.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        self.busy_since: float | None = None  # time.monotonic() since when the lock has been held elsewhere
        self._warned = False
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._closing = threading.Event()
        self._give_up = threading.Event()  # set at a stop: a job meeting the lock fails instead of waiting
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Cancelling the await drops a job not started yet; one started runs to its end (a
        transaction is never cut short from outside)."""
        if self._closing.is_set():
            raise StoreUnavailable(f"store: {self.store.path}: the writer has stopped")
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((future, fn, args))
        return await asyncio.wrap_future(future)

    def close(self, timeout: float = 5.0) -> bool:
        """Run what is queued (each tried once more if the lock is still held elsewhere), then end
        the thread. A job still running after `timeout` (a VACUUM) is interrupted: SQLite rolls it
        back. Returns whether the thread ended."""
        self._closing.set()
        self._give_up.set()
        self._jobs.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.store.db.conn.interrupt()
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop_waiting(self) -> None:
        """At a stop: what meets another writer's lock from now on raises StoreBusy at once; it
        is left for the next start (nothing half-written: a transaction is all or nothing)."""
        self._give_up.set()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = self._attempt(fn, args)
            except BaseException as exc:  # noqa: BLE001 - the awaiting side decides what it means
                future.set_exception(exc)
            else:
                future.set_result(result)

    def _attempt(self, fn: Callable[..., Any], args: tuple) -> Any:
        pause = 0.05
        while True:
            try:
                result = fn(self.store, *args)
            except StoreBusy as exc:
                if not self.retry or self._give_up.is_set():
                    raise
                self._busy(exc)
                self._closing.wait(pause)
                pause = min(RETRY_MAX, pause * 2)
                continue
            if self.busy_since is not None:
                if self._warned:
                    log.info("archive free again: the writes that waited are stored",
                             extra={"database": str(self.store.path), "waited": round(time.monotonic() - self.busy_since, 1)})
                self.busy_since, self._warned = None, False
            return result

    def _busy(self, exc: StoreBusy) -> None:
        now = time.monotonic()
        if self.busy_since is None:
            self.busy_since = now
        if not self._warned and now - self.busy_since >= BUSY_WARN_AFTER:
            self._warned = True
            log.warning("archive busy: another writer holds the lock; writes wait, polling goes on",
                        extra={"database": str(self.store.path), "error": str(exc)})

    def busy_for(self) -> float | None:
        """Seconds the writes have waited for another writer's lock, or None."""
        since = self.busy_since
        return None if since is None else time.monotonic() - since
