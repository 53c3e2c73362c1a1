"""daemon: the service: the loop and its signals, the watchdog, reloads, and the clocks between ticks.

`Monitor` holds what lives across cycles (the archive's connections, the rules, the workers,
robots.txt, sitemap indexes, the mail clocks) and runs a Cycle each tick over the feeds due.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable, Iterable
from zoneinfo import ZoneInfo

import schedule

from .. import config as config_mod
from .. import extract as extract_stage
from .. import rules as rules_stage
from .. import writer as writer_mod
from ..config import Config, FeedConfig
from ..errors import ConfigError, RuleError, StoreBusy, StoreError, StoreFull
from ..fetch import Robots
from ..model import PollResult
from ..places import Gazetteer, load_gazetteer
from ..rules import RuleSet
from ..store import MIN_FREE_BYTES, Store
from ..systemd import EarlySignals, Notifier
from ..workers import Workers
from ..writer import Writer
from .cycle import STOP_GRACE, Cycle, CycleStats
from .mail import Mailer
from .policy import digest_slot

log = logging.getLogger("monitor")
TICK_SECONDS = 60


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Monitor:
    """One configured monitor: store, rules, fetcher and workers, the cycle over them and the service loop."""

    def __init__(self, config: Config, store: Store, rules: RuleSet, workers: Workers,
                 clock: Callable[[], datetime] = utcnow, gazetteer: Gazetteer | None = None):
        self.config = config
        # Writes go to `archive` (the store given, on its own thread); the digest and alerts to
        # `mail` (its own connection and thread, so a slow mail server never holds up storing);
        # reads to `store`, the loop's connection: in WAL mode a reader never waits on a writer.
        self.archive = Writer(store)
        self.mail = Writer(Store(store.path, story_window=store.story_window), name="archive-mail", retry=False)
        self.store = Store(store.path, story_window=store.story_window, busy_ms=writer_mod.BUSY_MS)
        self.background_mail = False  # serve() mails in a task of its own; one call (a test) awaits it
        self._mailing: asyncio.Task | None = None
        self._stop_at: float | None = None  # time.monotonic() of the stop asked for
        self.rules = rules
        self.gazetteer = gazetteer or load_gazetteer()
        self.workers = workers
        self.clock = clock
        self.stopping = asyncio.Event()
        self.started = clock()
        self._synced = False
        self.mailer = Mailer(self.mail, self.store)  # the digest's and the alerts' clocks
        self.random = random.Random()
        self.robots = Robots()  # robots.txt of crawled sites, kept across cycles
        self.notifier = Notifier({})  # serve() sets the real one
        self._indexes: dict[str, list[str]] = {}  # sitemap feed → the sitemaps its index lists ([] if none)
        self.full: Exception | None = None  # the archive refused to grow (StoreFull): polling waits
        self.last_cycle: CycleStats | None = None
        self._reload_wanted = False
        self._wake = asyncio.Event()  # set to end the wait between ticks: stop or reload

    async def serve(self, notifier: Notifier | None = None, early: EarlySignals | None = None) -> None:
        """Poll due feeds once a tick until told to stop, keeping systemd informed through
        `notifier`: READY=1 once started, STATUS after each tick, WATCHDOG=1 while the event loop
        runs, STOPPING=1 on the way out. SIGHUP reloads the config and rules between ticks; what
        `early` caught while starting is acted on now (a stop at once, a reload once ready)."""
        notifier = self.notifier = notifier or Notifier({})
        self.background_mail = True
        self._listen(early)
        # The language model (about 70 MB) is otherwise loaded the first time a page yields no text,
        # perhaps hours later, where it would look like a leak; load it before READY instead.
        extract_stage.language("warm up")
        # The pings come from a task on the same event loop as the cycle: a loop blocked in a
        # synchronous call (a C extension spinning) misses them and systemd restarts the daemon.
        # Everything a cycle awaits has its own deadline, except the archive's writes, which wait
        # off the loop for as long as another writer holds the lock.
        watchdog = asyncio.create_task(self._watchdog(notifier)) if notifier.watchdog else None
        scheduler = schedule.Scheduler()
        jobs: list[Callable[[], Awaitable]] = [self.poll_due]  # the first tick runs at once
        scheduler.every(TICK_SECONDS).seconds.do(jobs.append, self.poll_due)
        log.info("daemon started", extra={"feeds": len(self.config.feeds), "database": str(self.config.database)})
        if not len(self.rules):
            log.warning("no rules: articles are archived but none will match", extra={"rules": str(self.config.rules)})
        notifier.send(ready=1, status=f"started: {self.status()}; polling")
        try:
            await self._loop(notifier, scheduler, jobs)
        finally:
            notifier.send(stopping=1, status="stopping: the feeds in flight are stored")
            if watchdog is not None:
                watchdog.cancel()
            await self._let_mail_finish()
        log.info("daemon stopped")

    def _listen(self, early: EarlySignals | None) -> None:
        """SIGTERM and SIGINT stop, SIGHUP reloads; what `early` caught while starting is acted on."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        if early is not None and early.stop:
            log.info("stopping: told to while starting")
            self.stop()
        if early is not None and early.reload:
            self.request_reload()

    async def _loop(self, notifier: Notifier, scheduler: schedule.Scheduler, jobs: list[Callable[[], Awaitable]]) -> None:
        """Run the jobs queued (ticks, a poll after a reload) until told to stop; between them,
        sleep until the scheduler's next tick or a signal."""
        while not self.stopping.is_set():
            if self._reload_wanted:
                self._reload_wanted = False
                notifier.send(reloading=1, status="reloading the config")
                if self.reload():
                    jobs.append(self.poll_due)  # a feed just added is polled now, not at the next tick
                notifier.send(ready=1, status=self.status())
            while jobs and not self.stopping.is_set() and not self._reload_wanted:
                try:
                    self.last_cycle = await jobs.pop(0)()
                except StoreBusy as exc:
                    # another writer (a rematch, a sqlite shell) held the lock: try at the next tick
                    log.warning("tick skipped: the database is locked", extra={"error": str(exc)})
                except StoreFull as exc:
                    self._archive_full(exc)
                notifier.send(status=self.status())
            scheduler.run_pending()
            if jobs or self._reload_wanted:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.1, scheduler.idle_seconds or 1.0))
            except TimeoutError:
                pass
            self._wake.clear()

    async def _let_mail_finish(self) -> None:
        if self._mailing is not None and not self._mailing.done():
            # a digest in the hands of the mail server is let finish within the stop's grace
            # (if the process ends first, its row says 'sending', which counts as sent)
            left = STOP_GRACE - (time.monotonic() - (self._stop_at or time.monotonic()))
            await asyncio.wait([self._mailing], timeout=max(0.1, left))

    async def _watchdog(self, notifier: Notifier) -> None:
        """WATCHDOG=1 every third of WatchdogSec, and the STATUS line whenever it changes between
        ticks (the archive becoming busy while a cycle waits to store)."""
        shown = None
        while True:
            status = self.status()
            if status != shown and self.last_cycle is not None:
                notifier.send(watchdog=1, status=status)
                shown = status
            else:
                notifier.send(watchdog=1)
            await asyncio.sleep(notifier.watchdog / 3)

    def request_reload(self) -> None:
        log.info("reload requested (SIGHUP): applied once the cycle in hand is done")
        self._reload_wanted = True
        self._wake.set()

    def reload(self) -> bool:
        """Re-read the config file and the rules. Everything is checked before anything changes:
        on any error the running config stays and the error is logged with its file and line."""
        try:
            config = config_mod.load(self.config.path)
            rules = rules_stage.load_rules(config.rules)
        except (ConfigError, RuleError, OSError, ValueError) as exc:
            log.error("reload refused, the running config stays", extra={"error": str(exc)})
            return False
        if config.database != self.config.database:
            log.error("reload refused, the running config stays",
                      extra={"error": f"{config.path}: database: changing the archive needs a restart"})
            return False
        pool = ("extract_workers", "extract_memory", "worker_tasks")
        later = [key for key in pool if getattr(config.fetch, key) != getattr(self.config.fetch, key)]
        if later:  # the worker pool is built once; these need a new one
            log.warning("taken at the next restart", extra={"keys": ",".join(f"fetch.{k}" for k in later)})
        # new feeds become due now, removed ones inactive; the same feeds need no write (which
        # would wait while another writer holds the archive)
        self._synced = self._synced and config.feeds == self.config.feeds
        self.config, self.rules = config, rules
        self.archive.store.story_window = self.mail.store.story_window = config.story_window
        log.info("config reloaded", extra={"feeds": len(config.feeds), "rules": len(rules)})
        return True

    def status(self) -> str:
        """One line for `systemctl status`: the last cycle and the next digest."""
        stats = self.last_cycle
        parts = [f"{len(self.config.feeds)} feeds, {len(self.rules)} rules"]
        if stats is not None:
            parts = [f"polled {stats.feeds} feeds ({stats.failed} failed), {stats.articles} new articles "
                     f"at {self.clock().strftime('%H:%M')} UTC"]
        if not len(self.rules):
            parts.insert(0, f"NO RULES in {self.config.rules}: nothing is matched")
        busy = self.archive.busy_for()
        if busy is not None and busy >= writer_mod.BUSY_WARN_AFTER:
            parts.insert(0, f"ARCHIVE BUSY: another writer has held the lock for {busy:.0f} s; writes wait")
        if self.full is not None:
            parts.insert(0, f"ARCHIVE FULL: {self.config.database}, {self.store.free_bytes() / 2**20:,.0f} MiB free; "
                            "not polling until a write succeeds")
        slot = digest_slot(self.clock(), self.config.digest)
        if slot is not None:
            upcoming = (slot + timedelta(days=1)).astimezone(ZoneInfo(self.config.digest.timezone))
            parts.append(f"next digest {upcoming:%H:%M} {self.config.digest.timezone}")
        return "; ".join(parts)

    async def sync(self) -> None:
        """Bring the feeds and places tables in line with the config and the gazetteer."""
        await self.archive.run(Store.sync_feeds, self.config.feeds, self.clock())
        await self.archive.run(Store.sync_places, self.gazetteer.places)
        self._synced = True

    async def run_once(self, progress: Callable[[PollResult], None] | None = None) -> CycleStats:
        """Every configured feed polled once, due or not."""
        await self.sync()
        stats = await self.cycle(self.config.feeds, progress)
        await self.maintain()
        return stats

    async def maintain(self) -> None:
        """Retention after a cycle: the store prunes and vacuums when due (it logs what it did and
        skips while another writer holds the lock). A VACUUM of a large archive takes minutes, on
        the writer's thread: storing waits for it, the loop and its watchdog pings do not."""
        try:
            await self.archive.run(Store.maintain, self.clock(), self.config.archive)
        except StoreError as exc:  # a full disk, say: the archive itself is still there; next cycle tries again
            log.error("retention failed", extra={"error": str(exc)})

    def close(self) -> None:
        """End the archive's threads: the writes queued are made (a stop waits at most a few
        seconds for them), then the connections are closed."""
        # The stop's grace is spent by now: a VACUUM still running gets a second more, then is
        # interrupted (rolled back); a mail thread stuck in a silent SMTP server is left behind.
        self.archive.close(1.0)  # its store is the caller's, to close
        if self.mail.close(0.5):
            self.mail.store.close()
        self.store.close()

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def poll_due(self) -> CycleStats:
        if self.full is not None:
            # Nothing is fetched that could not be stored: each tick tries a write, and polling
            # resumes on its own once one succeeds (space freed, the quota raised).
            if not await self.archive.run(Store.writable):
                self._archive_full(self.full)
                return CycleStats()
            log.info("archive writable again: polling resumes", extra={"database": str(self.config.database)})
            self.full = None
        if not self._synced:  # once per config: the tables do not change between ticks
            await self.sync()
        # Feeds due before the next tick's midpoint go now: a poll lands a little after its tick,
        # so `next_poll` (poll time + interval) would otherwise just miss the tick it was meant
        # for, and every interval would grow by a whole tick (60 s polled every 120 s).
        due = set(self.store.due(self.clock() + timedelta(seconds=TICK_SECONDS / 2)))
        try:
            stats = await self.cycle(feed for feed in self.config.feeds if feed.name in due)
        except StoreFull as exc:  # the feeds are not to blame: none is marked failed, all stay due
            self._archive_full(exc)
            return CycleStats()
        await self.maintain()
        if not self.background_mail:
            await self.send_mail()
        elif self._mailing is None or self._mailing.done():
            self._mailing = asyncio.create_task(self.send_mail())
        return stats

    async def send_mail(self) -> None:
        """The alerts, then the digest if it is due. In the service this runs beside the next
        ticks: a mail server that answers slowly (or not at all, until the timeout) holds up no poll."""
        try:
            await self.send_alerts()
            await self.digest_if_due()
        except StoreError as exc:  # the archive refused the delivery's row: nothing was sent, tried again next tick
            log.error("mail not sent: the archive refused its record", extra={"error": str(exc)})

    async def cycle(self, feeds: Iterable[FeedConfig], progress: Callable[[PollResult], None] | None = None) -> CycleStats:
        """Poll the feeds with the config and rules of now; `progress` is told of each feed's result as it is stored."""
        return await Cycle(self.config, self.rules, self.gazetteer, self.store, self.archive, self.workers,
                           clock=self.clock, stopping=self.stopping, random=self.random, robots=self.robots,
                           indexes=self._indexes).run(feeds, progress)

    async def digest_if_due(self) -> bool:
        """The digest, when its time has come (see Mailer.digest_if_due)."""
        return await self.mailer.digest_if_due(self.config, self.rules, self.clock(), self.started)

    async def send_alerts(self) -> int:
        """The immediate alerts and spikes (see Mailer.send_alerts)."""
        return await self.mailer.send_alerts(self.config, self.rules, self.clock(), self.started)

    def _archive_full(self, error: Exception) -> None:
        """One error a tick while the archive cannot grow, naming the database and the free space."""
        self.full = error
        free = self.store.free_bytes()
        log.error("archive full: not polling until a write succeeds",
                  extra={"database": str(self.config.database), "free_mib": round(free / 2**20, 1),
                         "needs_mib": round(MIN_FREE_BYTES / 2**20), "error": str(error)})

    def stop(self) -> None:
        log.info("stopping: finishing the feeds in flight")
        self.stopping.set()
        self._stop_at = time.monotonic()
        self.archive.stop_waiting()
        self._wake.set()
