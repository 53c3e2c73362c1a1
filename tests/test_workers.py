"""The worker pool: a page that hangs or explodes is killed and recorded; the others go on."""

from __future__ import annotations

import asyncio

import pytest

import worker_tasks
from monitor.workers import TaskFailed, Workers


def run(coro):
    return asyncio.run(coro)


@pytest.mark.slow
def test_hung_task_is_killed_and_others_finish():
    with Workers(2, memory_limit=2 * 2**30) as workers:
        async def go():
            return await asyncio.gather(
                workers.run(1.0, worker_tasks.sleep, 30), workers.run(10, worker_tasks.sleep, 0.2),
                return_exceptions=True)

        hung, fine = run(go())
        assert isinstance(hung, TaskFailed) and "longer than 1 s" in str(hung)
        assert fine == 0.2
        assert workers.restarts == 1
        assert run(workers.run(10, worker_tasks.sleep, 0.01)) == 0.01  # the pool works afterwards


@pytest.mark.slow
def test_dying_worker_is_recorded_and_replaced():
    with Workers(2) as workers:
        async def go():
            return await asyncio.gather(workers.run(10, worker_tasks.die), workers.run(10, worker_tasks.sleep, 0.5),
                                        return_exceptions=True)

        died, fine = run(go())
        assert isinstance(died, TaskFailed) and "died" in str(died)
        assert fine == 0.5  # in flight on the broken pool, run again on the new one


def test_memory_limit_raises_in_the_worker():
    with Workers(1, memory_limit=1 * 2**30) as workers:
        with pytest.raises(MemoryError):
            run(workers.run(30, worker_tasks.hog))
        assert run(workers.run(10, worker_tasks.sleep, 0.01)) == 0.01


def test_workers_are_recycled():
    with Workers(1, tasks_per_worker=2) as workers:
        async def go():
            return [await workers.run(30, worker_tasks.pid) for _ in range(4)]

        pids = run(go())
        assert pids[0] == pids[1] and pids[2] == pids[3] and pids[0] != pids[2]
