"""Run a command under the system call filter a systemd unit declares, as systemd would.

    python tests/sandbox.py systemd/monitor.service -- monitor --config feeds.yaml run --once

Reads the unit's SystemCallFilter= lines (an allow list, then ~ lines that take calls out of it),
expands the @groups with `systemd-analyze syscall-filter` (the same tables systemd uses), and
loads it with SystemCallErrorNumber=EPERM. MemoryDenyWriteExecute=yes is loaded as systemd builds
it: a second filter refusing mmap with PROT_WRITE|PROT_EXEC and mprotect/pkey_mprotect with
PROT_EXEC. The command then runs with both in force, and so do the processes it starts.

It lets the tests show that the hardened unit does not break lxml, TLS, SQLite or the extraction
workers, on a machine where the tests cannot start units under systemd itself.
"""

from __future__ import annotations

import errno
import functools
import mmap
import os
import subprocess
import sys


@functools.cache
def expand(group: str) -> frozenset[str]:
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True, text=True, check=True).stdout
    calls: set[str] = set()
    for line in out.splitlines()[1:]:  # the first line is the group's own name
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        calls |= expand(line) if line.startswith("@") else {line}
    return frozenset(calls)


def unit_settings(path: str) -> tuple[set[str], bool]:
    """The calls the unit allows, and whether it denies writable-executable memory."""
    allowed: set[str] | None = None
    mdwe = False
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if line.startswith("MemoryDenyWriteExecute="):
            mdwe = line.split("=", 1)[1].strip() in ("yes", "true", "1")
        if not line.startswith("SystemCallFilter="):
            continue
        value = line.split("=", 1)[1].strip()
        deny = value.startswith("~")
        names = set()
        for word in value.lstrip("~").split():
            names |= expand(word) if word.startswith("@") else {word}
        if deny:
            if allowed is None:
                raise SystemExit(f"{path}: a deny-list filter is not what this sandbox emulates")
            allowed -= names
        else:
            allowed = names if allowed is None else allowed | names
    if allowed is None:
        raise SystemExit(f"{path}: no SystemCallFilter=")
    return allowed, mdwe


def load(allowed: set[str], mdwe: bool) -> None:
    import pyseccomp as seccomp

    if mdwe:  # loaded first: once the allow list is in force, seccomp() itself may be refused
        guard = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        write_exec = mmap.PROT_WRITE | mmap.PROT_EXEC
        guard.add_rule(seccomp.ERRNO(errno.EPERM), "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, write_exec, write_exec))
        for call in ("mprotect", "pkey_mprotect"):
            guard.add_rule(seccomp.ERRNO(errno.EPERM), call, seccomp.Arg(2, seccomp.MASKED_EQ, mmap.PROT_EXEC, mmap.PROT_EXEC))
        guard.load()
    allow = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
    for call in sorted(allowed):
        try:
            allow.add_rule(seccomp.ALLOW, call)
        except (RuntimeError, ValueError, OSError):
            pass  # a call this architecture does not have (the tables list every architecture's)
    allow.load()


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        raise SystemExit(__doc__)
    allowed, mdwe = unit_settings(argv[0])
    load(allowed, mdwe)
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
