"""The errors of monitor: one base class and a small tree.

    MonitorError                  anything monitor raises on purpose
     ├── ConfigError              feeds.yaml (or an OPML file) is unusable: names file, line, column, key
     ├── RuleError                a rule file is unusable: names file, line and column
     ├── StoreError               the database is unusable (corrupt, too new, a write refused)
     │    └── StoreUnavailable    the archive cannot take writes now; not a feed's fault: try later
     │         ├── StoreBusy      another writer held the lock past the busy timeout
     │         └── StoreFull      the disk (or max_page_count) is full: SQLITE_FULL, ENOSPC
     ├── DigestError              a mail (digest, alert) was not accepted by the SMTP server: try later
     └── FeedError                one feed failed at one stage; the others go on
          ├── FetchError          network, HTTP status, limits, refused address
          ├── ParseError          not a feed at all
          └── ExtractError        an article page yielded no text, hung or crashed

Library errors (httpx, feedparser, sqlite3, yaml, smtplib) are translated into these where they
enter, so callers never catch a library's exception. A FeedError's message reads "stage: feed: what
happened", which is what ends up in the `feeds.last_error` column.

Whether a failure passes by itself is one attribute, `FeedError.permanent` (each stage's default,
overridden where the raise knows better), and one function reads it: `classify`, which every
caller (a feed's backoff, a crawled link, the digest's retry) asks instead of deciding itself.
"""

from __future__ import annotations

from dataclasses import dataclass


class MonitorError(Exception):
    """Base of every error monitor raises on purpose."""


class ConfigError(MonitorError):
    """Reads "file:line:column: key: what"; the parts not known are left out."""

    def __init__(self, message: str, *, file: str = "", line: int | None = None, key: str = "",
                 column: int | None = None, source: str | None = None):
        self.file, self.line, self.column, self.key, self.reason = file, line, column, key, message
        self.source = source  # the line of the file the column points into, for a caret under it
        where = file
        if line is not None:
            where = f"{where}:{line}"
            if column is not None:
                where = f"{where}:{column}"
        if key:
            where = f"{where}: {key}" if where else key
        super().__init__(f"{where}: {message}" if where else message)


class RuleError(MonitorError):
    def __init__(self, message: str, *, file: str = "", line: int | None = None, column: int | None = None):
        self.file, self.line, self.column, self.reason = file, line, column, message
        self.source: str | None = None  # the line (of the file, or the query) the column points into
        where = file
        if line is not None:
            where = f"{where}:{line}"
            if column is not None:
                where = f"{where}:{column}"
        super().__init__(f"{where}: {message}" if where else message)


def pointed(error: ConfigError | RuleError) -> str:
    """The message, then the line it points into with a caret under the column."""
    if not error.source or not error.column:
        return str(error)
    line = error.source.rstrip("\r\n").expandtabs(1)  # a tab is one column, as YAML counts it
    return f"{error}\n{line}\n{' ' * (error.column - 1)}^"


class StoreError(MonitorError):
    pass


class StoreUnavailable(StoreError):
    pass


class StoreBusy(StoreUnavailable):
    pass


class StoreFull(StoreUnavailable):
    pass


def store_error(message: str, exc: Exception) -> StoreError:
    """sqlite3's error as ours: "database is locked" (or busy) is a StoreBusy, the rest StoreError."""
    text = str(exc)
    if "full" in text or "No space left" in text:  # SQLITE_FULL: "database or disk is full"
        return StoreFull(f"{message}: {text}")
    kind = StoreBusy if ("locked" in text or "busy" in text) else StoreError
    return kind(f"{message}: {text}")


class DigestError(MonitorError):
    """The SMTP server did not accept the message (refused it, was down, rejected the login), so
    nothing was sent and the caller tries again. Never raised once the server answered 250 to DATA:
    from then on the message is the server's, whatever happens to the session (digest.send)."""


class FeedError(MonitorError):
    stage = "feed"
    # Will this failure pass by itself? Each stage says what its failures usually are (a fetch
    # error passes, a body that is not a feed does not); a raise site that knows better says so
    # (a worker that died or ran out of time: the input was not at fault). classify() reads it.
    permanent = False

    def __init__(self, feed: str, message: str, *, url: str = "", permanent: bool | None = None):
        self.feed, self.url, self.reason = feed, url, message
        if permanent is not None:
            self.permanent = permanent
        super().__init__(f"{self.stage}: {feed}: {message}")

    def __reduce__(self):
        # Raised in worker processes too: pickle by constructor arguments plus attributes.
        return (self.__class__, (self.feed, self.reason), dict(self.__dict__))


class FetchError(FeedError):
    """Passing unless said otherwise: permanent ones (404, 410, a refused address, robots.txt's
    no) are not retried hot."""

    stage = "fetch"

    def __init__(
        self,
        feed: str,
        message: str,
        *,
        url: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        permanent: bool | None = None,
    ):
        super().__init__(feed, message, url=url, permanent=permanent)
        self.status = status
        self.retry_after = retry_after


class ParseError(FeedError):
    """Not a feed at all: lasting, unless the worker parsing it died or ran out of time."""

    stage = "parse"
    permanent = True


class ExtractError(FeedError):
    """A page with no article text, or not a web page: lasting, unless the worker died or ran out of time."""

    stage = "extract"
    permanent = True


TEMPORARY, PERMANENT, PARSE = "temporary", "permanent", "parse"


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failure means for trying again: `kind` is TEMPORARY (try again, backing off),
    PERMANENT (not worth trying soon: gone, refused) or PARSE (the body is not a feed: more often a
    broken URL than a passing fault, but sometimes a maintenance page); `wait` is how long the
    other side asked us to stay away (Retry-After, an unreadable robots.txt), if it said."""

    kind: str
    wait: float | None = None

    @property
    def lasting(self) -> bool:
        return self.kind != TEMPORARY

    @property
    def column(self) -> str:
        """As `feeds.failure` and the logs name it: 'temporary' or 'permanent'."""
        return PERMANENT if self.lasting else TEMPORARY


def classify(exc: BaseException, *, page: bool = False) -> Failure:
    """The one decision of whether a failure passes, for feeds, crawled links and mail alike.

    `page`: the failure is an article page's, not a source's. A source answering 401 or 403 is
    tried again with backoff (a firewall or a credential being renewed: it may well pass, and a
    feed is never given up); an article page behind a login stays there, so it is not fetched again.
    A DigestError, a busy archive or anything else not a FeedError is temporary: mail is retried."""
    wait = getattr(exc, "retry_after", None)
    if not isinstance(exc, FeedError):
        return Failure(TEMPORARY, wait)
    if isinstance(exc, ParseError):
        return Failure(PARSE if exc.permanent else TEMPORARY, wait)
    if page and isinstance(exc, FetchError) and exc.status in (401, 403):
        return Failure(PERMANENT, wait)
    return Failure(PERMANENT if exc.permanent else TEMPORARY, wait)
