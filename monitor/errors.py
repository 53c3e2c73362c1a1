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
"""

from __future__ import annotations


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

    def __init__(self, feed: str, message: str, *, url: str = "", passing: bool = False):
        self.feed, self.url, self.reason = feed, url, message
        # True when the input was not at fault: the worker handling it died or ran out of time
        self.passing = passing
        super().__init__(f"{self.stage}: {feed}: {message}")

    def __reduce__(self):
        # Raised in worker processes too: pickle by constructor arguments plus attributes.
        return (self.__class__, (self.feed, self.reason), dict(self.__dict__))


class FetchError(FeedError):
    stage = "fetch"

    def __init__(
        self,
        feed: str,
        message: str,
        *,
        url: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
    ):
        super().__init__(feed, message, url=url)
        self.status = status
        self.retry_after = retry_after
        # Permanent failures (404, 410, refused address) are not retried hot: they back off to the
        # longest delay straight away.
        self.permanent = permanent


class ParseError(FeedError):
    stage = "parse"


class ExtractError(FeedError):
    stage = "extract"
