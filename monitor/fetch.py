"""fetch: HTTP GET with limits that hold, for feeds and for the article pages they link to.

- one httpx.AsyncClient per host and trust level, bounded concurrency overall and per host;
- conditional GET (ETag, Last-Modified); the caller decides when to send validators;
- an overall deadline per request (httpx's timeouts are per read, so a server that drips one byte a
  second would otherwise keep a request forever);
- a body cap counted on *decoded* bytes: we ask for gzip/deflate ourselves, read the raw stream and
  inflate it in bounded steps, so a gzip bomb stops at the cap instead of filling memory;
- a redirect limit, Retry-After parsed into seconds;
- links found inside a feed go through a client whose connections are checked at connect time: the
  resolved address must be public, so DNS tricks and redirects cannot reach loopback or the LAN.

Every failure becomes a FetchError naming the feed; no httpx exception leaves this module.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import math
import re
import socket
import time
import zlib
import ssl
from collections import OrderedDict, defaultdict
from http.cookiejar import CookieJar
from urllib.parse import urlsplit

import httpcore
import httpx
from protego import Protego

from .config import FetchConfig
from .errors import FetchError
from .model import Request, Response

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, application/json;q=0.7, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
# A sitemap, a section page, or a URL not yet known to be either (or a feed).
CRAWL_ACCEPT = "application/xml, text/xml, text/html;q=0.9, application/rss+xml;q=0.9, application/atom+xml;q=0.9, */*;q=0.5"
_CHUNK = 64 * 1024


_SSL_CONTEXT: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    """The TLS settings httpx builds by default (certifi's CAs), made once: loading them takes ~15 ms."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = httpx.create_ssl_context(verify=True, trust_env=False)
    return _SSL_CONTEXT


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def is_public_address(address: str) -> bool:
    """A global unicast address, also for the IPv4 address an IPv6 one carries (mapped, compatible,
    NAT64, 6to4, Teredo): those can reach 10.x or 169.254.169.254 through a translator."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return False
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if any(ip in net for net in _NAT64) or ip in _IPV4_COMPATIBLE:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(v4 is not None and not is_public_address(str(v4)) for v4 in embedded):
            return False
        if ip.ipv4_mapped is not None:
            return True
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int = 0) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:  # a label too long or empty: IDNA refuses it
        raise OSError(f"invalid host name {host!r}: {exc}") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


class AddressRefused(httpcore.ConnectError):
    """A link resolved only to loopback, private, link-local or otherwise non-public addresses."""


class _PublicOnly(httpcore.AsyncNetworkBackend):
    """Network backend that connects only to public addresses, checking the address it connects to."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend):
        self._inner = inner

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        public = [a for a in addresses if is_public_address(a)]
        if not public:
            raise AddressRefused(f"{host} resolves to a non-public address ({', '.join(addresses)}); refused")
        error: Exception | None = None
        for address in public:  # connect to the checked address itself, never to the name again
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error  # type: ignore[misc]

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise AddressRefused("unix sockets are not public addresses")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After is either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is True too
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)


def max_age_seconds(cache_control: str | None) -> float | None:
    """Cache-Control max-age: how long the server says this answer stays fresh. no-store and
    no-cache say nothing about how often to come back, so they give no hint."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


class _Inflater:
    """Decodes a Content-Encoding in bounded steps: never more than `limit` bytes come out."""

    def __init__(self, encoding: str, limit: int):
        self.limit = limit
        self.size = 0
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()  # zlib-wrapped; raw deflate detected on the first chunk
            self._raw_checked = False
        else:
            raise ValueError(f"unsupported Content-Encoding {encoding!r}")
        self.encoding = encoding

    def _grow(self, piece: bytes) -> bytes:
        self.size += len(piece)
        if self.size > self.limit:
            raise OverflowError
        return piece

    def feed(self, data: bytes) -> bytes:
        if self._z is None:
            return self._grow(data)
        if self.encoding == "deflate" and not self._raw_checked:
            self._raw_checked = True
            if data and (data[0] & 0x0F) != 8:  # no zlib header: some servers send raw deflate
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        out = []
        while data:
            piece = self._z.decompress(data, self.limit - self.size + 1)
            out.append(self._grow(piece))
            data = self._z.unconsumed_tail
            if self._z.eof:
                break
        return b"".join(out)

    def flush(self) -> bytes:
        if self._z is None:
            return b""
        return self._grow(self._z.flush(self.limit - self.size + 1))


class Fetcher:
    """The network edge. Use as `async with Fetcher(settings) as fetcher:`."""

    def __init__(self, settings: FetchConfig, robots: "Robots | None" = None):
        self.settings = settings
        self._all = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(settings.per_host))
        # One client (one connection pool) per host and trust level, made when first needed.
        # httpcore's pool scans every connection it holds on each request and each answer (with a
        # poll() on each idle socket), so one pool shared by all hosts costs CPU in proportion to
        # its connections; per-host pools stay small (at most per_host connections) and keep a
        # host's connections alive between its feeds. The clients of one trust level share one
        # cookie jar, as the single client of each level did.
        self._clients: dict[tuple[bool, str], httpx.AsyncClient] = {}
        self._cookies = {False: CookieJar(), True: CookieJar()}
        self._busy: dict[tuple[bool, str], int] = defaultdict(int)
        self._peak: dict[tuple[bool, str], int] = defaultdict(int)  # most requests it had at once
        # Clients with no request in flight, least recently used first, with the connections each
        # may keep open (its peak). Past the budget the oldest is closed, so idle keep-alive
        # sockets stay below 2 x concurrency however many hosts a cycle visits.
        self._idle: OrderedDict[tuple[bool, str], int] = OrderedDict()
        self._idle_sockets = 0
        self._idle_budget = 2 * settings.concurrency
        self.robots = robots if robots is not None else Robots()
        self._pacing: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._last_request: dict[str, float] = {}

    def _client(self, *, public_only: bool) -> httpx.AsyncClient:
        limits = httpx.Limits(
            max_connections=self.settings.per_host,
            max_keepalive_connections=self.settings.per_host,
            keepalive_expiry=30.0,
        )
        transport = httpx.AsyncHTTPTransport(verify=_ssl_context(), limits=limits, trust_env=False, retries=0)
        if public_only:
            # httpx has no public hook for the network backend; the pool it builds accepts one.
            pool = transport._pool
            pool._network_backend = _PublicOnly(pool._network_backend)
        return httpx.AsyncClient(
            transport=transport,
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            cookies=self._cookies[public_only],
            follow_redirects=True,
            max_redirects=self.settings.max_redirects,
            trust_env=False,
        )

    def _lease(self, key: tuple[bool, str]) -> httpx.AsyncClient:
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._client(public_only=key[0])
        if key in self._idle:
            self._idle_sockets -= self._idle.pop(key)
        self._busy[key] += 1
        self._peak[key] = max(self._peak[key], self._busy[key])
        return client

    async def _release(self, key: tuple[bool, str]) -> None:
        self._busy[key] -= 1
        if self._busy[key]:
            return
        del self._busy[key]
        self._idle[key] = self._peak[key]
        self._idle_sockets += self._peak[key]
        while self._idle_sockets > self._idle_budget and len(self._idle) > 1:
            oldest, sockets = self._idle.popitem(last=False)
            self._idle_sockets -= sockets
            del self._peak[oldest]
            client = self._clients.pop(oldest)
            try:
                await client.aclose()
            except Exception:  # closing idle sockets; nothing to report
                pass

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        self._idle.clear()
        self._idle_sockets = 0
        for client in clients:
            await client.aclose()

    async def get(self, url: str, **fields) -> Response:
        """fetch(Request(url, **fields)): for a caller with one request to make."""
        return await self.fetch(Request(url, **fields))

    async def fetch(self, request: Request) -> Response:
        """GET a URL. `polite` (crawled sites: sitemaps, section pages and their articles): the
        site's robots.txt is obeyed, and requests to one host are spaced by its Crawl-delay or
        `fetch.crawl_delay`, whichever is longer."""
        url, feed, deadline = request.url, request.feed, request.deadline
        if request.polite:
            await self._politely(url, feed=feed, public_only=request.public_only)
        headers = {"Accept": request.accept or FEED_ACCEPT}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError as exc:
            raise FetchError(feed, f"invalid URL: {exc}", url=url, permanent=True) from None
        timeout = httpx.Timeout(deadline, connect=min(deadline, 15.0))
        # The host's slot first: a request waiting for its busy host must not hold one of the
        # overall slots, or a run of feeds on one host would leave the other hosts idle.
        async with self._hosts[host], self._all:
            key = (request.public_only, host)
            client = self._lease(key)
            try:
                async with asyncio.timeout(deadline):
                    return await self._get(client, url, headers, timeout, feed, request.max_bytes)
            except (TimeoutError, httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                raise self._error(exc, request) from None
            finally:
                await self._release(key)

    def _error(self, exc: Exception, request: Request) -> FetchError:
        """httpx's exception (or the deadline's) as a FetchError: none leaves this module."""
        feed, url, deadline = request.feed, request.url, request.deadline
        if isinstance(exc, TimeoutError):
            return FetchError(feed, f"no complete answer within the {deadline:g} s deadline", url=url)
        if isinstance(exc, httpx.TooManyRedirects):
            return FetchError(feed, f"more than {self.settings.max_redirects} redirects", url=url)
        if isinstance(exc, httpx.TimeoutException):
            return FetchError(feed, f"timed out ({deadline:g} s)", url=url)
        if isinstance(exc, httpx.HTTPError):
            cause = exc.__cause__
            if isinstance(cause, AddressRefused):
                return FetchError(feed, f"link refused: {cause}", url=url, permanent=True)
            reason = str(exc) or type(exc).__name__
            return FetchError(feed, f"{type(exc).__name__}: {reason}", url=url)
        # httpx.InvalidURL, ValueError, UnicodeError (IDNA errors are UnicodeErrors)
        return FetchError(feed, f"invalid URL: {type(exc).__name__}: {exc}", url=url, permanent=True)

    async def _politely(self, url: str, *, feed: str, public_only: bool) -> None:
        rules = await self.robots.rules(self, url, feed=feed, public_only=public_only)
        agent = self.settings.user_agent
        if rules is None:
            raise FetchError(feed, "robots.txt could not be read; retrying later", url=url, retry_after=ROBOTS_RETRY)
        if not rules.can_fetch(url, agent):
            raise FetchError(feed, "robots.txt forbids this URL", url=url, permanent=True)
        delay = max(self.settings.crawl_delay, min(float(rules.crawl_delay(agent) or 0), MAX_CRAWL_DELAY))
        host = (urlsplit(url).hostname or "").lower()
        async with self._pacing[host]:  # one at a time per host, each `delay` after the one before
            wait = self._last_request.get(host, -math.inf) + delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_request[host] = time.monotonic()

    async def _get(self, client, url, headers, timeout, feed, max_bytes) -> Response:
        async with client.stream("GET", url, headers=headers, timeout=timeout) as response:
            status = response.status_code
            final = str(response.url)
            got = {k.lower(): v for k, v in response.headers.items()}
            peer = _peer(response)
            if status == 304:
                return Response(final, status, got, peer=peer)
            if status >= 400 or status < 200:
                raise _status_error(feed, final, status, got)
            declared = got.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes and not got.get("content-encoding"):
                raise FetchError(feed, f"body of {int(declared):,} bytes is over the {max_bytes:,}-byte cap", url=final)
            try:
                inflater = _Inflater(got.get("content-encoding", ""), max_bytes)
            except ValueError as exc:
                raise FetchError(feed, str(exc), url=final) from None
            parts = []
            try:
                async for chunk in response.aiter_raw(_CHUNK):
                    parts.append(inflater.feed(chunk))
                parts.append(inflater.flush())
            except OverflowError:
                raise FetchError(feed, f"body is over the {max_bytes:,}-byte cap (decoded)", url=final) from None
            except zlib.error as exc:
                raise FetchError(feed, f"corrupt {inflater.encoding} body: {exc}", url=final) from None
            return Response(final, status, got, b"".join(parts), peer=peer)


MAX_CRAWL_DELAY = 60.0  # a site asking for more would never be read; we take a minute at most
ROBOTS_KEPT = 86400.0  # a robots.txt is read again after a day (RFC 9309 suggests at most 24 h)
ROBOTS_RETRY = 600.0  # after a server error or no answer, everything waits this long


class Robots:
    """robots.txt of each site (scheme, host, port), read through a Fetcher and kept for a day,
    across cycles (the daemon owns one), matched as RFC 9309 says (longest rule wins, `*` and `$`)
    by protego. A 4xx (no robots.txt) allows everything. A server error or no answer leaves the
    site unknown for ROBOTS_RETRY: its URLs fail for a passing reason, so nothing is taken as
    forbidden for good because of an outage."""

    def __init__(self, limit: int = 10_000):
        self._sites: OrderedDict[str, tuple[float, Protego | None]] = OrderedDict()
        self._pending: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._limit = limit

    async def rules(self, fetcher: "Fetcher", url: str, *, feed: str, public_only: bool) -> Protego | None:
        """The site's rules, or None while its robots.txt cannot be read."""
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}".lower()
        async with self._pending[site]:  # one fetch per site, however many of its links wait
            kept = self._sites.get(site)
            if kept is not None and kept[0] > time.monotonic():
                return kept[1]
            keep, rules = ROBOTS_KEPT, None
            try:
                response = await fetcher.fetch(Request(site + "/robots.txt", feed=feed, max_bytes=512 * 1024, deadline=30.0,
                                                       accept="text/plain, */*;q=0.5", public_only=public_only))
                rules = Protego.parse(response.body.decode("utf-8", "replace"))
            except FetchError as exc:
                if exc.status is not None and 400 <= exc.status < 500:
                    rules = Protego.parse("")
                else:
                    keep = ROBOTS_RETRY
            self._sites[site] = (time.monotonic() + keep, rules)
            self._sites.move_to_end(site)
            while len(self._sites) > self._limit:
                gone, _ = self._sites.popitem(last=False)
                self._pending.pop(gone, None)
            return rules


def _peer(response: httpx.Response) -> str | None:
    """The address the answer came from: what decides whether a feed is on a private host, so a
    second DNS look-up (which could answer differently) never does."""
    stream = response.extensions.get("network_stream")
    try:
        address = stream.get_extra_info("server_addr") if stream is not None else None
    except Exception:  # noqa: BLE001 - a transport without the information
        return None
    return address[0] if isinstance(address, tuple) and address else None


def _status_error(feed: str, url: str, status: int, headers: dict[str, str]) -> FetchError:
    reason = httpx.codes.get_reason_phrase(status) or "HTTP error"
    retry = retry_after_seconds(headers.get("retry-after")) if status in (429, 503) else None
    message = f"{status} {reason}"
    if retry is not None:
        message += f" (Retry-After {retry:.0f} s)"
    return FetchError(feed, message, url=url, status=status, retry_after=retry, permanent=status in (404, 410))

