"""daemon: the cycle (poll → parse → new items → pages → extract → match → store) and the service loop.

This is where the clock, the network (through fetch), the workers and the disk (through store) meet.
The loop reads the archive on a connection of its own and writes it only through `writer` threads,
so another process holding the write lock delays storing, never the polling or the watchdog.
A feed's failure, whatever it is, is recorded on that feed and the cycle goes on with the others.
On SIGTERM or SIGINT no new feed is started; the feeds in flight finish and are stored; exit 0.

    service.Monitor   the loop, signals, watchdog, reload; one Cycle a tick; retention; mail clocks (mail.Mailer)
    cycle.Cycle       the feeds due, each isolated, stored and given its next poll
    poll.Poller       one source: fetch → parse → new items → pages → store in batches; crawled links
    pages.Pages       a cycle's article pages, fetched and extracted once whichever feeds list them
    article           build_article (pure) and tag
    policy            the decisions, pure: next_poll, mail retries, the digest's slot, feed order
"""

from .cycle import CycleStats
from .service import TICK_SECONDS, Monitor, utcnow

__all__ = ["CycleStats", "Monitor", "TICK_SECONDS", "utcnow"]
