#!/usr/bin/env python3
"""A static file server that answers every request after a fixed delay, as a far-away server would.

Used by bench/poll.py for its "delayed" variant, because nginx cannot delay an answer and this
sandbox has no sch_netem (so `tc qdisc add dev lo root netem delay ...` is refused).

    python3 bench/slowserve.py --root DIR --port P --delay-ms 100 ADDRESS [ADDRESS ...]

- serves DIR/host_<k>/<file> on the k-th ADDRESS (the same layout and the same file types as the
  nginx instance of bench/poll.py);
- HTTP/1.1 with keep-alive, one request at a time per connection (no pipelining is needed);
- ETag and Last-Modified like nginx's static module (ETag "<mtime hex>-<size hex>", Last-Modified
  from the file's mtime), and 304 like nginx's not_modified filter: If-Modified-Since must equal
  Last-Modified exactly and If-None-Match must list the ETag (or be *), whichever of the two is sent;
- the delay is an `await asyncio.sleep`, taken after the request head is read and before the answer
  is written, so it costs no CPU; every file is read into memory once, at start;
- only GET and HEAD; anything else is 405, an unknown path 404.

It prints "ready" on stdout once it listens on every address, and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from email.utils import formatdate
from pathlib import Path

TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".xml": "application/xml",
    ".json": "application/json",
}


def load(root: Path, count: int) -> list[dict[str, tuple[bytes, bytes, bytes, str]]]:
    """Per host: path → (body, etag, last_modified, content_type)."""
    hosts = []
    for k in range(count):
        files = {}
        folder = root / f"host_{k}"
        for path in sorted(folder.iterdir()) if folder.is_dir() else ():
            st = path.stat()
            body = path.read_bytes()
            etag = f'"{int(st.st_mtime):x}-{st.st_size:x}"'.encode()
            modified = formatdate(int(st.st_mtime), usegmt=True).encode()
            files["/" + path.name] = (body, etag, modified, TYPES.get(path.suffix, "application/octet-stream"))
        hosts.append(files)
    return hosts


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True, type=Path)
    ap.add_argument("--port", required=True, type=int)
    ap.add_argument("--delay-ms", type=float, default=100.0)
    ap.add_argument("addresses", nargs="+")
    args = ap.parse_args()
    hosts = load(args.root, len(args.addresses))
    delay = args.delay_ms / 1000.0
    date_cache = [0, b""]

    def http_date() -> bytes:
        now = int(time.time())
        if date_cache[0] != now:
            date_cache[:] = [now, formatdate(now, usegmt=True).encode()]
        return date_cache[1]

    def handler_for(files):
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    try:
                        head = await reader.readuntil(b"\r\n\r\n")
                    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                        return
                    lines = head.split(b"\r\n")
                    try:
                        method, target, version = lines[0].split(b" ", 2)
                    except ValueError:
                        return
                    headers = {}
                    for line in lines[1:]:
                        name, sep, value = line.partition(b":")
                        if sep:
                            headers[name.strip().lower()] = value.strip()
                    close = version == b"HTTP/1.0" or headers.get(b"connection", b"").lower() == b"close"
                    await asyncio.sleep(delay)
                    path = target.split(b"?", 1)[0].decode("latin-1")
                    entry = files.get(path)
                    common = b"Server: slowserve\r\nDate: " + http_date() + b"\r\n"
                    if close:
                        common += b"Connection: close\r\n"
                    if method not in (b"GET", b"HEAD"):
                        writer.write(b"HTTP/1.1 405 Not Allowed\r\n" + common + b"Content-Length: 0\r\n\r\n")
                    elif entry is None:
                        writer.write(b"HTTP/1.1 404 Not Found\r\n" + common + b"Content-Length: 0\r\n\r\n")
                    else:
                        body, etag, modified, ctype = entry
                        ims = headers.get(b"if-modified-since")
                        inm = headers.get(b"if-none-match")
                        fresh = (ims is not None or inm is not None) and (ims is None or ims == modified) and (
                            inm is None or inm == b"*" or etag in [t.strip() for t in inm.split(b",")]
                        )
                        validators = b"Last-Modified: " + modified + b"\r\nETag: " + etag + b"\r\n"
                        if fresh:
                            writer.write(b"HTTP/1.1 304 Not Modified\r\n" + common + validators + b"\r\n")
                        else:
                            writer.write(
                                b"HTTP/1.1 200 OK\r\n" + common + validators
                                + b"Content-Type: " + ctype.encode() + b"\r\nContent-Length: "
                                + str(len(body)).encode() + b"\r\n\r\n"
                            )
                            if method == b"GET":
                                writer.write(body)
                    await writer.drain()
                    if close:
                        return
            except ConnectionError:
                return
            finally:
                writer.close()

        return handle

    async def serve() -> None:
        servers = []
        for address, files in zip(args.addresses, hosts):
            servers.append(await asyncio.start_server(handler_for(files), address, args.port, backlog=1024, reuse_address=True))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print("ready", flush=True)
        await stop.wait()
        for server in servers:
            server.close()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
