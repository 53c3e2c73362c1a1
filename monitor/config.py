"""feeds.yaml: one table of defaults, validated once at start, passed explicitly.

Every key a user can write is in one of the SETTINGS tables below, with its default and a help line;
tests check that each one is documented in README.md. Errors name the file, the line and column of
the value (or key) at fault, and the key: "feeds.yaml:12:15: feeds[3].interval: must be …".
"""

from __future__ import annotations

import email.utils
import ipaddress
import math
import os
import re
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from . import __version__
from .errors import ConfigError
from .position import error_spot, line_text, node_start

USER_AGENT = f"monitor/{__version__} (media monitor; +https://github.com/monitor-project/monitor)"


@dataclass(frozen=True)
class Setting:
    """One key: its default, its kind (which converter checks it, and the type it becomes), its help."""

    default: Any
    kind: str  # a key of CONVERTERS, or choice:a|b, or list, addresses, mapping, feeds
    help: str
    shown: str | None = None  # the README's default, when it is not a value (e.g. "cores, 1–4")

    @property
    def unit(self) -> str | None:
        """What a bare number means."""
        return UNITS.get(self.kind)


UNITS = {"duration": "seconds", "retention": "seconds", "size": "bytes"}


# Settings of one feed. Each can be set in `defaults:` for every feed or on the feed itself.
FEED_SETTINGS: dict[str, Setting] = {
    "interval": Setting(900.0, "duration", "How often the feed is polled (e.g. 10m, 1h)."),
    "max_interval": Setting(
        2 * 3600.0,
        "duration",
        "Longest interval the feed's own hints (RSS ttl, sy:updatePeriod, Cache-Control max-age) may stretch "
        "`interval` to; set it to `interval` to ignore them.",
    ),
    "full_text": Setting(True, "bool", "Fetch each new item's page and extract its text; false keeps the feed's own text."),
    "timeout": Setting(30.0, "duration", "Overall deadline of one request: connect, headers and the whole body."),
    "max_feed_size": Setting(50 * 2**20, "size", "Largest feed body accepted, counted after decompression (a sitemap may legally be 50 MB)."),
    "max_page_size": Setting(4 * 2**20, "size", "Largest article page accepted, counted after decompression."),
    "max_age": Setting(2 * 86400.0, "duration", "Sitemaps and pages: only URLs published this recently are taken (undated ones are taken once)."),
    "max_items": Setting(100, "int", "At most this many new items (feeds) or URLs (sitemaps, pages) a poll, newest first; the rest at the next polls."),
    "revalidate_every": Setting(24, "int", "Every Nth poll ignores ETag and Last-Modified (some servers keep a stale ETag)."),
    "private_links": Setting(
        "auto",
        "choice:auto|allow|deny",
        "May the feed's links point at loopback or private addresses? auto: only when the feed itself is on such a host.",
    ),
}

# Keys a feed entry has besides the feed settings.
FEED_KEYS: dict[str, Setting] = {
    "url": Setting(None, "url", "The feed's URL (http or https). Required."),
    "name": Setting(None, "str", "A short unique name; defaults to the URL's host and path.", shown="host/path"),
    "type": Setting(
        "auto",
        "choice:auto|feed|sitemap|page",
        "What the URL is: `feed` (RSS, Atom, JSON Feed), `sitemap` (news or ordinary sitemap, or an index), "
        "`page` (a section page whose article links are followed); `auto` sniffs it on the first poll.",
    ),
    "follow": Setting(None, "regex", "Pages: only links matching this regular expression are articles (default: heuristics)."),
    "tags": Setting((), "list", "Free labels for the feed, kept with its articles' feed row."),
}

# Settings of the fetcher and the extraction pool, under `fetch:`.
FETCH_SETTINGS: dict[str, Setting] = {
    "concurrency": Setting(100, "int", "Requests in flight at once, over all hosts."),
    "per_host": Setting(4, "int", "Requests in flight at once to one host."),
    "max_redirects": Setting(5, "int", "Redirects followed before a request fails."),
    "user_agent": Setting(USER_AGENT, "str", "The User-Agent header sent with every request.",
                          shown="monitor/VERSION (…)"),
    "max_retry_after": Setting(86400.0, "duration", "Longest Retry-After honoured; a longer one is cut to this."),
    "max_backoff": Setting(6 * 3600.0, "duration", "Longest delay between polls of a failing feed."),
    "crawl_delay": Setting(1.0, "duration", "Least time between two requests to one host of a crawled site (sitemaps, section pages); a longer robots.txt Crawl-delay wins (up to 1 min)."),
    "jitter": Setting(0.1, "fraction", "Each next poll is put off by up to this share of its delay, so feeds polled together drift apart."),
    "extract_workers": Setting(max(1, min(4, os.cpu_count() or 1)), "int", "Processes extracting article text.",
                               shown="cores, 1–4"),
    "extract_timeout": Setting(60.0, "duration", "A page whose extraction takes longer is killed and recorded."),
    "extract_memory": Setting(2 * 2**30, "size", "Address-space limit of an extraction process."),
    "worker_tasks": Setting(200, "int", "Pages an extraction process handles before it is replaced (trafilatura grows)."),
    "fast_extraction": Setting(True, "bool", "trafilatura's fast mode (no fallback extractors): on our corpus as accurate and 1.2× quicker."),
}

DIGEST_SETTINGS: dict[str, Setting] = {
    "to": Setting((), "addresses", "Recipients of the daily digest."),
    "from": Setting(None, "address", "The digest's From address; required to send mail (not for `digest --dry-run`)."),
    "time": Setting("07:00", "time", "When the daily digest is sent (HH:MM)."),
    "timezone": Setting("Europe/Kyiv", "timezone", "Time zone of `time`."),
    "send_empty": Setting(False, "bool", "Send a digest when the period has no hits."),
    "subject": Setting("monitor digest {date}: {stories} stories, {hits} hits", "str",
                       "The subject; {date}, {stories}, {hits} and {rules} are filled in."),
    "rules": Setting((), "list", "Only these rules in the digest (default: all)."),
    "language": Setting("en", "choice:en|uk|ru", "Language of the place names in the digest."),
    "archive_url": Setting(None, "url", "Datasette's address (as `monitor serve` runs it): each story then links to its row "
                           "in the archive, {archive_url}/{database file stem}/articles/{id}."),
    "older_than": Setting(2 * 86400.0, "duration", "A story published this long before the period's start goes under "
                          "\"Older stories found this period\" (a new feed's backlog, an old page a sitemap brought)."),
    "min_priority": Setting(0, "priority", "Only rules of at least this priority."),
    "spike_factor": Setting(3.0, "factor", "A rule spikes when its hits in `spike_window` reach this many times its usual."),
    "spike_window": Setting(6 * 3600.0, "duration", "The recent stretch compared with the rule's usual rate."),
    "spike_alert": Setting(False, "bool", "Also mail a spike at once, not only in the next digest."),
    "smtp": Setting(None, "mapping", "The SMTP server: host, port, security, username, password_env or password_file; "
                    "sending mail needs it (not `digest --dry-run`)."),
}

SMTP_SETTINGS: dict[str, Setting] = {
    "host": Setting("localhost", "str", "SMTP server host."),
    "port": Setting(None, "port", "SMTP port; defaults to 465 with tls, 587 with starttls, 25 otherwise.",
                    shown="by security"),
    "security": Setting("starttls", "choice:starttls|tls|none", "How the connection is secured."),
    "username": Setting(None, "str", "SMTP login."),
    "password_env": Setting(None, "str", "Name of the environment variable holding the password."),
    "password_file": Setting(None, "str", "File holding the password (e.g. a systemd credential)."),
}

TOP_SETTINGS: dict[str, Setting] = {
    "database": Setting("monitor.db", "str", "SQLite archive, relative to the config file."),
    "rules": Setting("rules", "str", "Folder of rule files (*.yaml), relative to the config file."),
    "feeds": Setting((), "feeds", "The feeds to poll (a list)."),
    "defaults": Setting(None, "mapping", "Feed settings applied to every feed unless the feed sets its own."),
    "fetch": Setting(None, "mapping", "Fetcher and extraction settings."),
    "digest": Setting(None, "mapping", "The daily digest."),
    "stories": Setting(None, "mapping", "How copies of one article are folded into a story."),
    "archive": Setting(None, "mapping", "Retention: how long articles that matched nothing are kept; VACUUM."),
}

STORY_SETTINGS: dict[str, Setting] = {
    "window": Setting(7 * 86400.0, "duration", "How far back a new article looks for the story it copies."),
}

# Retention, under `archive:`. Hits are never pruned.
ARCHIVE_SETTINGS: dict[str, Setting] = {
    "keep_unmatched": Setting(
        90 * 86400.0, "retention",
        "Articles that matched no rule (and whose story has no hit) are deleted this long after they were fetched; "
        "`never` keeps them.",
    ),
    "vacuum_every": Setting(7 * 86400.0, "retention", "At most this often the file is compacted with VACUUM; `never` turns it off."),
    "vacuum_min_free": Setting(0.2, "fraction", "VACUUM only when at least this share of the file's pages is free."),
}


# --------------------------------------------------------------------------------------------------
# The records the stages get: one field per key above, its default the table's (never written twice).

TYPES: dict[str, Any] = {
    "duration": float, "retention": float | None, "size": int, "int": int, "priority": int, "factor": float,
    "fraction": float, "port": int | None, "bool": bool, "str": str, "choice": str, "regex": str | None,
    "url": str, "time": str, "timezone": str, "list": tuple[str, ...], "addresses": tuple[str, ...],
    "address": str | None,
}


def _fields(table: dict[str, Setting], skip: tuple[str, ...] = (), rename: dict[str, str] | None = None) -> list:
    rename = rename or {}
    return [(rename.get(key, key), TYPES[s.kind.partition(":")[0]], field(default=s.default))
            for key, s in table.items() if key not in skip]


def _record(name: str, doc: str, fields: list) -> type:
    cls = make_dataclass(name, fields, frozen=True)
    cls.__module__, cls.__doc__ = __name__, doc  # so that it pickles (to the workers) as monitor.config.<name>
    return cls


FeedConfig = _record("FeedConfig", "One feed: FEED_KEYS, then FEED_SETTINGS.",
                     [("url", str), ("name", str), *_fields(FEED_KEYS, skip=("url", "name")), *_fields(FEED_SETTINGS)])
FetchConfig = _record("FetchConfig", "The fetcher and the extraction pool: FETCH_SETTINGS.", _fields(FETCH_SETTINGS))
SmtpConfig = _record("SmtpConfig", "The SMTP server: SMTP_SETTINGS.", _fields(SMTP_SETTINGS))
DigestConfig = _record(
    "DigestConfig",
    "DIGEST_SETTINGS (`from` is `sender`); `smtp` is None when none was given: mail cannot be sent then.",
    [*_fields(DIGEST_SETTINGS, skip=("smtp",), rename={"from": "sender"}),
     ("smtp", SmtpConfig | None, field(default=None)),
     # where `digest:` stands in the file, for the errors found only when mail is sent
     ("line", int | None, field(default=None))],
)
ArchiveConfig = _record("ArchiveConfig", "Retention (ARCHIVE_SETTINGS): seconds, None for never.", _fields(ARCHIVE_SETTINGS))


@dataclass(frozen=True)
class Config:
    path: Path
    database: Path
    rules: Path
    feeds: tuple[FeedConfig, ...]
    fetch: FetchConfig
    digest: DigestConfig | None = None
    story_window: float = STORY_SETTINGS["window"].default
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)


def default_fetch() -> FetchConfig:
    return FetchConfig()


# --------------------------------------------------------------------------------------------------
# Loading: YAML is composed into nodes first, so every value keeps the line it came from.


class _Loader(yaml.SafeLoader):
    pass


def _compose(text: str, file: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        spot = error_spot(exc, text)
        line, column = spot if spot else (None, None)
        raise ConfigError(f"not valid YAML: {exc.problem or exc}", file=file, line=line, column=column,
                          source=line_text(text, line) if line else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=file) from None


class _Checker:
    """Turns YAML nodes into checked Python values, raising ConfigError with file, line, column and key."""

    def __init__(self, file: str, text: str):
        self.file, self.text = file, text
        self._constructor = _Loader("")

    def fail(self, node: yaml.Node, key: str, message: str) -> ConfigError:
        line, column, source = node_start(self.text, node)
        return ConfigError(message, file=self.file, line=line, column=column, key=key, source=source)

    def scalar(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node | None, key: str, table: dict[str, Setting]) -> dict[str, tuple[Any, yaml.Node]]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
            return {}
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, "must be a mapping of keys to values")
        out: dict[str, tuple[Any, yaml.Node]] = {}
        for key_node, value_node in node.value:
            name = self.scalar(key_node)
            full = f"{key}.{name}" if key else str(name)
            if not isinstance(name, str) or name not in table:
                known = ", ".join(sorted(table))
                raise self.fail(key_node, full, f"unknown key (known keys: {known})")
            if name in out:
                raise self.fail(key_node, full, "key given twice")
            out[name] = (value_node, key_node)
        return out

    def value(self, node: yaml.Node, key: str, kind: str) -> Any:
        if kind == "mapping":
            return node
        if kind in ("list", "feeds"):
            if isinstance(node, yaml.ScalarNode) and kind == "list":
                raw = self.scalar(node)
                if isinstance(raw, str):
                    return (raw,)
            if not isinstance(node, yaml.SequenceNode):
                raise self.fail(node, key, "must be a list")
            if kind == "feeds":
                return node.value
            items = []
            for child in node.value:
                raw = self.scalar(child) if isinstance(child, yaml.ScalarNode) else None
                if not isinstance(raw, str) or not raw.strip():
                    raise self.fail(child, key, "list items must be non-empty strings")
                items.append(raw.strip())
            return tuple(items)
        if kind == "addresses" and isinstance(node, yaml.SequenceNode):
            raw = [self.scalar(child) if isinstance(child, yaml.ScalarNode) else None for child in node.value]
        elif not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, key, f"must be a single value ({kind})")
        else:
            raw = self.scalar(node)
        try:
            return _convert(kind, raw)
        except ValueError as exc:
            raise self.fail(node, key, str(exc)) from None


MAX_DURATION = 365 * 86400.0
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZES = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 10**6, "mb": 10**6, "mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30}


def _seconds(raw: Any, example: str) -> float:
    """A number of seconds, or a number with a unit (s, m, h, d); ranges are the caller's."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError(f"must be a duration such as {example}, not {raw!r}")
    if isinstance(raw, (int, float)):
        return float(raw)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", raw)
    if not m:
        raise ValueError(f"must be a duration such as {example}, not {raw!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_duration(raw: Any) -> float:
    seconds = _seconds(raw, "90s, 15m or 2h")
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_DURATION:
        raise ValueError(f"must be a positive duration of at most 365 days, not {raw!r}")
    return seconds


MIN_RETENTION, MAX_RETENTION = 86400.0, 100 * 365 * 86400.0


def parse_retention(raw: Any) -> float | None:
    """A duration of at least a day (a bare number is seconds, so `90` would be a minute and a half:
    refused rather than pruning nearly everything), or `never` (None)."""
    if isinstance(raw, str) and raw.strip().lower() == "never":
        return None
    seconds = _seconds(raw, "90d or never")
    if not math.isfinite(seconds) or not MIN_RETENTION <= seconds <= MAX_RETENTION:
        raise ValueError(f"must be a duration from 1d to 36500d (a bare number is seconds), or never, not {raw!r}")
    return seconds


def parse_size(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"must be a size such as 512KiB or 4MiB, not {raw!r}")
    if isinstance(raw, int):
        size = raw
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(raw))
        if not m or m.group(2).lower() not in _SIZES:
            raise ValueError(f"must be a size such as 512KiB or 4MiB, not {raw!r}")
        size = int(float(m.group(1)) * _SIZES[m.group(2).lower()])
    if size <= 0:
        raise ValueError(f"must be a positive size, not {raw!r}")
    return size


def _whole(low: int, high: int, words: str) -> Callable[[Any], int]:
    def convert(raw: Any) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise ValueError(f"must be {words}, not {raw!r}")
        return raw
    return convert


def _number(low: float, high: float) -> Callable[[Any], float]:
    def convert(raw: Any) -> float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not low <= raw <= high:
            raise ValueError(f"must be a number from {low} to {high}, not {raw!r}")
        return float(raw)
    return convert


def _bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"must be true or false, not {raw!r}")
    return raw


def _string(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"must be a non-empty string, not {raw!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in raw.strip()):
        raise ValueError(f"must not hold control characters (a line break in a header would break every request): {raw!r}")
    return raw.strip()


def _regex(raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"must be a regular expression, not {raw!r}")
    try:
        re.compile(raw)
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression ({exc})") from None
    return raw


def _time(raw: Any) -> str:
    if not isinstance(raw, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", raw):
        # YAML 1.1 reads an unquoted 07:00 as a sexagesimal number
        raise ValueError(f"must be a time of day written as \"HH:MM\" (quoted), not {raw!r}")
    return raw


def _timezone(raw: Any) -> str:
    try:
        ZoneInfo(str(raw))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"is not a known time zone: {raw!r}") from None
    return str(raw)


def _choice(choices: list[str], raw: Any) -> str:
    if raw not in choices:
        raise ValueError(f"must be one of {', '.join(choices)}, not {raw!r}")
    return raw


# A kind's converter: the raw YAML value in, the checked value out, or ValueError saying what is wrong.
CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "duration": parse_duration,
    "size": parse_size,
    "retention": parse_retention,
    "int": _whole(1, 1_000_000, "a whole number from 1 to 1,000,000"),
    "priority": _whole(-1000, 1000, "a whole number from -1000 to 1000"),
    "port": _whole(1, 65535, "a port number from 1 to 65535"),
    "factor": _number(1, 1000),
    "fraction": _number(0, 1),
    "address": lambda raw: _addresses(raw, many=False),
    "addresses": lambda raw: _addresses(raw, many=True),
    "bool": _bool,
    "str": _string,
    "regex": _regex,
    "url": lambda raw: check_url(raw),  # defined below
    "time": _time,
    "timezone": _timezone,
}


def _convert(kind: str, raw: Any) -> Any:
    name, _, choices = kind.partition(":")
    if name == "choice":
        return _choice(choices.split("|"), raw)
    return CONVERTERS[name](raw)


def check_value(kind: str, raw: Any) -> Any:
    """A raw value of one of the tables' kinds, checked and converted; ValueError says what is wrong."""
    return _convert(kind, raw)


def _addresses(raw: Any, many: bool) -> Any:
    values = [raw] if isinstance(raw, str) or not many else raw
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"must be an e-mail address{' or a list of them' if many else ''}, not {raw!r}")
    checked = []
    for value in values:
        name, address = email.utils.parseaddr(value if isinstance(value, str) else "")
        local, _, domain = address.rpartition("@")
        if not local or "." not in domain or any(c.isspace() for c in address):
            raise ValueError(f"is not an e-mail address: {value!r}")
        checked.append(value.strip())
    return tuple(checked) if many else checked[0]


def check_url(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"must be an http or https URL, not {raw!r}")
    url = raw.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http or https URL, not {raw!r}")
    try:
        _port = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError:
        raise ValueError(f"has an invalid port: {raw!r}") from None
    host = parts.hostname
    if not re.fullmatch(r"[\w.-]+", host, re.UNICODE):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"has an invalid host: {raw!r}") from None
    return url


def _default_name(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.strip("/")
    return f"{parts.hostname}/{path}" if path else str(parts.hostname)


def _settings(checker: _Checker, found: dict, table: dict[str, Setting], prefix: str) -> dict[str, Any]:
    return {name: checker.value(node, f"{prefix}{name}", table[name].kind) for name, (node, _k) in found.items()}


def _section(checker: _Checker, node: yaml.Node | None, key: str, table: dict[str, Setting]) -> dict[str, Any]:
    """The keys given in one mapping section, checked; the records fill in the defaults."""
    return _settings(checker, checker.mapping(node, key, table), table, f"{key}.")


def load(path: str | os.PathLike) -> Config:
    """Read and check a config file. Raises ConfigError naming file, line and key."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such file", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot be read: {exc}", file=file) from None
    return loads(text, path)


def loads(text: str, path: Path) -> Config:
    file = str(path)
    checker = _Checker(file, text)
    root = _compose(text, file)
    if root is None:
        raise ConfigError("is empty: it needs at least a `feeds:` list", file=file)
    top = checker.mapping(root, "", TOP_SETTINGS)
    values = _settings(checker, {k: v for k, v in top.items() if k != "feeds"}, TOP_SETTINGS, "")
    defaults = _section(checker, values.get("defaults"), "defaults", FEED_SETTINGS)
    feed_nodes = checker.value(top["feeds"][0], "feeds", "feeds") if "feeds" in top else []
    digest = None
    if values.get("digest") is not None:
        digest = _digest(checker, values["digest"], line=top["digest"][1].start_mark.line + 1)
    stories = _section(checker, values.get("stories"), "stories", STORY_SETTINGS)
    base = path.parent
    return Config(
        path=path,
        database=base / values.get("database", TOP_SETTINGS["database"].default),
        rules=base / values.get("rules", TOP_SETTINGS["rules"].default),
        feeds=_feeds(checker, feed_nodes, defaults),
        fetch=FetchConfig(**_section(checker, values.get("fetch"), "fetch", FETCH_SETTINGS)),
        digest=digest,
        story_window=stories.get("window", STORY_SETTINGS["window"].default),
        archive=ArchiveConfig(**_section(checker, values.get("archive"), "archive", ARCHIVE_SETTINGS)),
    )


def _feeds(checker: _Checker, nodes: list[yaml.Node], defaults: dict[str, Any]) -> tuple[FeedConfig, ...]:
    """The `feeds:` entries, each a bare URL or a mapping; names unique."""
    feeds: list[FeedConfig] = []
    names: dict[str, int] = {}
    for index, node in enumerate(nodes):
        key = f"feeds[{index}]"
        found: dict = {}
        if isinstance(node, yaml.ScalarNode):  # a bare URL is a feed with every default
            entry = {"url": checker.value(node, f"{key}.url", "url")}
        else:
            found = checker.mapping(node, key, FEED_KEYS | FEED_SETTINGS)
            if "url" not in found:
                raise checker.fail(node, key, "a feed needs a `url`")
            entry = _settings(checker, found, FEED_KEYS | FEED_SETTINGS, f"{key}.")
        name = entry.get("name") or _default_name(entry["url"])
        if name in names:
            at = found["name"][0] if "name" in found else node
            raise checker.fail(at, f"{key}.name", f"duplicate feed name {name!r} (first at line {names[name]})")
        names[name] = node.start_mark.line + 1
        feeds.append(FeedConfig(**(defaults | entry | {"name": name, "tags": tuple(entry.get("tags", ()))})))
    return tuple(feeds)


def _digest(checker: _Checker, node: yaml.Node, line: int) -> DigestConfig:
    """The `digest:` section; its `smtp:` only when given (else mail says it has no server)."""
    found = checker.mapping(node, "digest", DIGEST_SETTINGS)
    d = _settings(checker, found, DIGEST_SETTINGS, "digest.")
    smtp = None
    if "smtp" in d:
        smtp_found = checker.mapping(d.pop("smtp"), "digest.smtp", SMTP_SETTINGS)
        smtp = SmtpConfig(**_settings(checker, smtp_found, SMTP_SETTINGS, "digest.smtp."))
        if smtp.password_env and smtp.password_file:
            raise checker.fail(smtp_found["password_file"][1], "digest.smtp.password_file",
                               "give password_env or password_file, not both")
    if "subject" in d:
        try:
            d["subject"].format(date="2026-01-01", stories=0, hits=0, rules=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise checker.fail(found["subject"][0], "digest.subject",
                               f"may use only {{date}}, {{stories}}, {{hits}}, {{rules}} ({exc!r})") from None
    sender = d.pop("from", None)
    return DigestConfig(**d, sender=sender, smtp=smtp, line=line)


def require_mail(config: Config) -> DigestConfig:
    """The digest settings of a config that is to send mail: recipients, a sender and an SMTP server
    are needed then, and only then (a dry run renders without them). Raises ConfigError naming the file, line and key."""
    file, settings = str(config.path), config.digest
    if settings is None:
        raise ConfigError("sending mail needs a `digest:` section with `to` and `from` (or use --dry-run)",
                          file=file, key="digest")
    missing = {"to": "no recipients: give `to` under `digest:`",
               "from": "no sender for the mail: give `from` under `digest:` (e.g. monitor@example.org)"}
    for key, value in (("to", settings.to), ("from", settings.sender)):
        if not value:
            raise ConfigError(f"{missing[key]}; `digest --dry-run` needs neither", file=file,
                              line=settings.line, key=f"digest.{key}")
    if settings.smtp is None:  # no guess at a server on localhost: say what is missing
        raise ConfigError("no SMTP server to send the mail through: give `smtp:` under `digest:` (host, port, "
                          "security); `digest --dry-run` needs none", file=file, line=settings.line, key="digest.smtp")
    return settings


def found_rules() -> Path | None:
    """The rules to use when no config names any: ./rules, else those of the source tree monitor runs from."""
    return next((p for p in (Path.cwd() / "rules", Path(__file__).resolve().parents[1] / "rules") if p.is_dir()), None)


def without_file(database: Path) -> Config:
    """The config of a command that reads an archive and needs no feed list, when there is no config
    file: every default, no feeds, the rules found_rules() finds."""
    return Config(path=Path("(no config file)"), database=database,
                  rules=found_rules() or Path(TOP_SETTINGS["rules"].default), feeds=(), fetch=default_fetch())


def config_path(given: str | None) -> Path:
    """--config, then $MONITOR_CONFIG, then ./feeds.yaml."""
    return Path(given or os.environ.get("MONITOR_CONFIG") or "feeds.yaml")


def all_settings() -> dict[str, dict[str, Setting]]:
    """Every documented key, by section: what the docs test walks."""
    return {
        "": TOP_SETTINGS,
        "feeds[]": FEED_KEYS | FEED_SETTINGS,
        "defaults": FEED_SETTINGS,
        "fetch": FETCH_SETTINGS,
        "digest": DIGEST_SETTINGS,
        "digest.smtp": SMTP_SETTINGS,
        "stories": STORY_SETTINGS,
        "archive": ARCHIVE_SETTINGS,
    }

