"""systemd: the service manager's notification protocol (sd_notify) and the watchdog interval.

The protocol is one datagram of "KEY=value" lines to the AF_UNIX socket named in $NOTIFY_SOCKET
(a leading "@" means the abstract namespace). It is small enough to speak directly, which keeps
libsystemd out of the dependencies. Outside systemd every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import signal
import socket

log = logging.getLogger("monitor")


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None):
        environ = os.environ if environ is None else environ
        self.address = environ.get("NOTIFY_SOCKET") or None
        if self.address and self.address.startswith("@"):
            self.address = "\0" + self.address[1:]
        self.watchdog = _watchdog_seconds(environ)
        self._socket: socket.socket | None = None
        self._failed = False

    def send(self, **fields: str | int) -> bool:
        """Send READY=1, STATUS=…, WATCHDOG=1 and the like (keys are written in upper case)."""
        if self.address is None:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto(message.encode("utf-8", "replace"), self.address)
        except OSError as exc:
            # systemd gone or the socket not ours: say so once; the daemon itself goes on
            if not self._failed:
                log.warning("systemd notification failed", extra={"socket": self.address.lstrip("\0"), "error": str(exc)})
            self._failed = True
            return False
        self._failed = False
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _watchdog_seconds(environ) -> float | None:
    """WatchdogSec= as seconds, when the watchdog is meant for this process."""
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = environ.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 1_000_000


class EarlySignals:
    """SIGHUP, SIGTERM and SIGINT from the first moment of `monitor run` until the service loop
    takes them over. Starting takes seconds (rules, gazetteer, workers); a signal meanwhile would
    otherwise kill the daemon (SIGHUP: exit 129). A SIGHUP is kept as a reload once the daemon is
    ready, a SIGTERM or SIGINT as a clean stop (exit 0)."""

    def __init__(self) -> None:
        self.reload = False
        self.stop = False
        signal.signal(signal.SIGHUP, self._reload)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)

    def _reload(self, *_) -> None:
        self.reload = True

    def _stop(self, *_) -> None:
        self.stop = True
