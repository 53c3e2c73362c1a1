"""A process pool for the CPU-bound stages (extraction, parsing) that survives what pages do to it.

- a task that runs past its deadline is killed with its worker, and recorded, not waited for;
- a worker that dies (memory limit, crash in a C library) is replaced; each task that was in flight
  when it died runs once more, alone in a process of its own, so only the culprit fails;
- workers are recycled after `worker_tasks` tasks, since trafilatura's memory grows in long runs;
- each worker has an address-space limit, so one monstrous page raises MemoryError in its worker
  instead of taking the machine's memory.

Only as many tasks are handed to the executor as there are workers, so a task's deadline counts its
own run time, not time spent queued behind others.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import weakref
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable


class TaskFailed(Exception):
    """The task was killed (deadline) or its worker died; the message says which."""


def _die_with_parent() -> None:
    """Linux: a worker whose daemon was killed (SIGKILL, OOM) dies too, instead of living on."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the call
        os._exit(0)


def _init_worker(memory_limit: int) -> None:
    _die_with_parent()
    # Ctrl-C reaches the whole process group: the daemon decides what stops, not its workers.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One BLAS thread: the language detector's numpy must not reserve memory per core.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if memory_limit:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        except (ValueError, OSError):
            pass


class Workers:
    def __init__(self, workers: int, *, memory_limit: int = 0, tasks_per_worker: int = 200):
        self.size = max(1, workers)
        self._memory_limit = memory_limit
        self._tasks_per_worker = tasks_per_worker
        self._slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # a semaphore per event loop
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0
        self.restarts = 0

    def _executor_of(self, size: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._memory_limit,),
            max_tasks_per_child=self._tasks_per_worker,
        )

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = self._executor_of(self.size)
        return self._executor

    @staticmethod
    def _terminate(executor: ProcessPoolExecutor) -> None:
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            try:
                process.kill()
            except (OSError, ValueError, AttributeError):
                pass
        executor.shutdown(wait=False, cancel_futures=True)

    def _kill(self, generation: int) -> None:
        """Kill the shared executor's processes, unless a newer executor already replaced it."""
        if generation != self._generation or self._executor is None:
            return
        executor, self._executor = self._executor, None
        self._generation += 1
        self.restarts += 1
        self._terminate(executor)

    async def _wait(self, future, timeout: float) -> Any:
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)

    async def run(self, timeout: float, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn(*args) in a worker. Raises TaskFailed, or whatever fn raised."""
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.size)
        async with slots:
            generation = self._generation
            try:
                return await self._wait(self._pool().submit(fn, *args), timeout)
            except TimeoutError:
                self._kill(generation)
                raise TaskFailed(f"took longer than {timeout:g} s; its worker was killed") from None
            except BrokenProcessPool:
                self._kill(generation)
            except KeyboardInterrupt:  # a worker started before its SIGINT was ignored
                raise TaskFailed("its worker was interrupted") from None
            # A worker died with tasks of several pages in flight, and nothing says whose fault it
            # was. Each of them runs again alone in a process of its own: the innocent succeed, the
            # culprit dies again without taking anyone with it.
            alone = self._executor_of(1)
            try:
                return await self._wait(alone.submit(fn, *args), timeout)
            except TimeoutError:
                raise TaskFailed(f"took longer than {timeout:g} s; its worker was killed") from None
            except BrokenProcessPool:
                raise TaskFailed("its worker died (memory limit, a crash, or monitor upgraded on disk under the daemon: restart it)") from None
            finally:
                self._terminate(alone)

    def close(self) -> None:
        if self._executor is not None:
            self._kill(self._generation)

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
