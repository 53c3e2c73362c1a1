"""Shared fixtures: a real HTTP server on 127.0.0.1, tmp-file databases, the shared corpus."""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import threading
import time
from collections import Counter
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONITOR_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"

TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".xml": "application/xml",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip is a test that did not run: in this suite that is a failure (a missing extra, a
    missing corpus, a tool the machine lacks), so CI cannot pass on less than the whole suite."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, which this suite does not allow: {report.longrepr}"


def corpus(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        # a missing corpus is a broken checkout, not a reason to test less: fail, never skip
        pytest.fail(f"corpus file {path} is missing: ../shared must sit beside the clone (or set MONITOR_SHARED)")
    return path


def read_corpus(*parts: str) -> bytes:
    data = corpus(*parts).read_bytes()
    return gzip.decompress(data) if parts[-1].endswith(".gz") else data


class Loopback:
    """A threaded HTTP/1.1 server on 127.0.0.1 with static files (ETag, Last-Modified, 304) and routes.

    `routes[path]` is a callable taking the request handler, for hostile behaviour. `hits` counts
    requests per path, so tests can check what was (not) fetched.
    """

    def __init__(self, host: str = "127.0.0.1"):
        self.files: dict[str, tuple[bytes, str]] = {}
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers) in arrival order
        self.honour_validators = True
        self.page_delay = 0.0  # seconds before each HTML file answers: a cycle long enough to interrupt
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                path = self.path.split("?", 1)[0]
                loopback.hits[path] += 1
                loopback.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
                try:
                    if path in loopback.routes:
                        loopback.routes[path](self)
                    elif path in loopback.files:
                        loopback._static(self, *loopback.files[path])
                    else:
                        self.send_error(404)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # clients hanging up is expected here
        self.base = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _static(self, h: BaseHTTPRequestHandler, body: bytes, ctype: str) -> None:
        if self.page_delay and ctype.startswith("text/html"):
            time.sleep(self.page_delay)
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        if self.honour_validators and h.headers.get("If-None-Match") == etag:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        if self.honour_validators:
            h.send_header("ETag", etag)
            h.send_header("Last-Modified", formatdate(1700000000, usegmt=True))
        h.end_headers()
        h.wfile.write(body)

    def add(self, path: str, body: bytes, ctype: str | None = None) -> str:
        self.files[path] = (body, ctype or TYPES.get(Path(path).suffix, "application/octet-stream"))
        return self.base + path

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> "Loopback":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    with Loopback() as s:
        yield s


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "archive.db"


def write_config(tmp_path: Path, feeds: list[dict], *, extra: str = "", rules: Path | None = None) -> Path:
    """A feeds.yaml in tmp_path with the given feed entries (dicts of feed keys)."""
    import yaml

    rules_dir = rules or (REPO / "rules")
    doc = {"database": str(tmp_path / "archive.db"), "rules": str(rules_dir), "feeds": feeds}
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False) + extra, encoding="utf-8")
    return path


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def self_signed_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with cryptography."""
    import ipaddress
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime.now(timezone.utc) - timedelta(days=1))
            .not_valid_after(datetime.now(timezone.utc) + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class NotifyListener:
    """What systemd does with NOTIFY_SOCKET: receive datagrams of KEY=value lines."""

    def __init__(self, path: str):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self.running = True
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        while self.running:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.monotonic(), fields))

    def having(self, key: str, value: str | None = None) -> list[tuple[float, dict[str, str]]]:
        return [(t, m) for t, m in list(self.messages) if key in m and (value is None or m[key] == value)]

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


def feed_body(name: str, count: int) -> bytes:
    items = "".join(
        f"<item><title>{name} story {n}: offensive near Kharkiv</title><link>http://news.example/{name}/{n}</link>"
        f"<guid>{name}-{n}</guid><description>Russian forces pressed the offensive near Kharkiv, {name} {n}.</description></item>"
        for n in range(count)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}</channel></rss>'.encode()


@contextmanager
def smtp_server(handler, controller=None, **options):
    """A real SMTP server (aiosmtpd, `controller` its Controller class, `options` its settings) on
    127.0.0.1 with `handler`'s hooks; yields its port."""
    from aiosmtpd.controller import Controller

    with socket.socket() as s:  # aiosmtpd checks it is up by connecting: it needs a real port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    running = (controller or Controller)(handler, hostname="127.0.0.1", port=port, **options)
    running.start()
    try:
        yield port
    finally:
        running.stop()
