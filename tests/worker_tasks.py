"""Tasks for tests/test_workers.py: module-level so spawned workers can import them."""

import os
import time


def pid(_=None) -> int:
    return os.getpid()


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def die() -> None:
    os._exit(3)  # as a segfault in a C library would: no exception, the process is gone


def hog() -> int:
    return len(bytearray(3 * 2**30))  # beyond the worker's address-space limit
