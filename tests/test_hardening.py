"""The hardened units do not break what the daemon and Datasette need.

`tests/sandbox.py` loads the system call filter and MemoryDenyWriteExecute= of a unit file the way
systemd does; under it the daemon fetches, parses (lxml, feedparser), extracts in its spawned
workers (trafilatura), writes SQLite, and speaks TLS; Datasette serves the archive.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import REPO, Loopback, corpus, self_signed_certificate, wait_for, write_config
from monitor.store import Store

pytestmark = pytest.mark.slow
import pyseccomp  # noqa: E402,F401  (the test extra: a missing one fails the suite, it does not skip)


@pytest.fixture(autouse=True)
def _systemd_analyze():
    if shutil.which("systemd-analyze") is None:
        pytest.fail("needs systemd-analyze: the Debian package systemd (.ci/run installs it)")

SANDBOX = str(REPO / "tests" / "sandbox.py")
DAEMON_UNIT = str(REPO / "systemd" / "monitor.service")
DATASETTE_UNIT = str(REPO / "systemd" / "monitor-datasette.service")


def sandboxed(unit: str, *command: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SANDBOX, unit, "--", *command], capture_output=True, text=True, **kw)


def test_the_sandbox_enforces_the_unit():
    probe = (
        "import mmap, os\n"
        "for name, call in [('wx', lambda: mmap.mmap(-1, 4096, prot=7)), ('chroot', lambda: os.chroot('/'))]:\n"
        "    try:\n        call(); print(name, 'allowed')\n"
        "    except PermissionError: print(name, 'refused')\n"
    )
    done = sandboxed(DAEMON_UNIT, sys.executable, "-c", probe, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["wx refused", "chroot refused"]


def test_daemon_cycle_under_the_unit_filter(tmp_path):
    truth = json.loads(corpus("articles", "scrapinghub-aeb", "ground-truth.json").read_text())
    ids = sorted(truth)[:4]
    with Loopback() as server:
        items = []
        for i in ids:
            page = gzip.decompress(corpus("articles", "scrapinghub-aeb", "html", f"{i}.html.gz").read_bytes())
            server.add(f"/pages/{i}.html", page, "text/html")
            items.append(f"<item><title>Page {i}</title><link>{server.url(f'/pages/{i}.html')}</link><guid>{i}</guid></item>")
        server.add("/f.rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{"".join(items)}</channel></rss>'.encode())
        config = write_config(tmp_path, [{"url": server.url("/f.rss"), "name": "f"}])
        done = sandboxed(DAEMON_UNIT, sys.executable, "-m", "monitor", "--config", str(config), "run", "--once", timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = sqlite3.connect(tmp_path / "archive.db").execute("SELECT text_source, length(text) FROM articles").fetchall()
    assert len(rows) == 4 and all(source == "page" and size > 200 for source, size in rows), rows


def test_tls_under_the_unit_filter(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = (f"import httpx, ssl\nc = ssl.create_default_context(cafile={str(cert)!r})\n"
                  f"r = httpx.get('https://127.0.0.1:{server.server_address[1]}/', verify=c)\n"
                  "print(r.status_code, r.text)")
        done = sandboxed(DAEMON_UNIT, sys.executable, "-c", client, timeout=60)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["200", "ok"]  # the server speaks only TLS: the handshake was made


def test_datasette_under_its_unit_filter(tmp_path):
    config = write_config(tmp_path, [])
    Store(tmp_path / "archive.db").close()  # an archive with every table, in WAL mode
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, SANDBOX, DATASETTE_UNIT, "--", sys.executable, "-m", "monitor",
                                "--config", str(config), "serve", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))

    def answers() -> bool:  # a query through Datasette's SQLite connection, not just a page
        try:
            url = f"http://127.0.0.1:{port}/archive/feeds.json?_shape=array"
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200 and json.loads(response.read()) == []
        except OSError:
            return False

    try:
        assert wait_for(answers, timeout=60), process.stderr.read1(4000) if process.poll() is not None else "no answer"
    finally:
        process.terminate()
        process.wait(timeout=20)
