"""Where bcrypt runs (security.PasswordWork): bounded threads at a set priority, and a bounded
queue that answers "busy" at once rather than letting waits grow."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from movievote import security
from movievote.errors import ServerBusy


def _slow(seconds: float) -> int:
    time.sleep(seconds)
    return threading.get_native_id()


def _scheduling() -> tuple[int, int]:
    tid = threading.get_native_id()
    return os.sched_getscheduler(tid), os.getpriority(os.PRIO_PROCESS, tid)


async def test_work_beyond_the_threads_and_the_queue_is_refused_at_once():
    work = security.PasswordWork(threads=1, nice=0, queue=2)
    jobs = [asyncio.ensure_future(work.run(_slow, 0.2)) for _ in range(3)]  # 1 runs, 2 wait
    await asyncio.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(ServerBusy) as refused:
        await work.run(_slow, 0.2)
    assert time.monotonic() - started < 0.05  # no wait behind the others
    assert refused.value.retry_after == 1 and refused.value.code == "busy"
    threads = await asyncio.gather(*jobs)
    assert len(set(threads)) == 1  # one thread did all three, one after the other
    assert work.waiting == 0 and work.refused == 1
    assert await work.run(_slow, 0) == threads[0]  # and takes work again


async def test_work_that_would_wait_too_long_is_refused_at_once():
    work = security.PasswordWork(threads=1, nice=0, queue=100, max_wait_seconds=0.3)
    await work.run(_slow, 0.2)  # it learns how long a piece takes
    running = asyncio.ensure_future(work.run(_slow, 0.2))
    waiting = asyncio.ensure_future(work.run(_slow, 0.2))  # would wait 0.2 s: taken
    await asyncio.sleep(0.01)
    with pytest.raises(ServerBusy):  # would wait 0.4 s: refused
        await work.run(_slow, 0.2)
    await asyncio.gather(running, waiting)
    assert work.refused == 1 and 0.15 < (work.seconds_each or 0) < 0.5
    # quick work (a test's bcrypt cost 4): many may wait, none long
    quick = security.PasswordWork(threads=1, nice=0, max_wait_seconds=0.3)
    await asyncio.gather(*(quick.run(_slow, 0.001) for _ in range(20)))
    assert quick.refused == 0


async def test_threads_run_at_the_priority_asked():
    assert await security.PasswordWork(threads=1, nice=5).run(_scheduling) == (os.SCHED_OTHER, 5)
    policy, nice = await security.PasswordWork(threads=1, nice=None).run(_scheduling)
    assert policy == os.SCHED_IDLE or nice == 19  # SCHED_IDLE, or nice 19 where refused


async def test_the_root_configures_the_process_s_password_work(monkeypatch):
    from movievote.config import Settings
    from movievote.root import build_root, password_threads

    monkeypatch.setenv("GRANIAN_WORKERS", "2")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert password_threads(Settings()) == 1
    monkeypatch.setenv("GRANIAN_WORKERS", "1")
    assert password_threads(Settings()) == 1  # at most half the cores
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert password_threads(Settings()) == 4
    monkeypatch.setenv("GRANIAN_WORKERS", "8")
    assert password_threads(Settings()) == 1
    assert password_threads(Settings(password_hash_threads=3)) == 3
    build_root(
        Settings(
            password_hash_threads=3,
            password_hash_queue=4,
            password_hash_nice=2,
            password_hash_max_wait_seconds=2.5,
        )
    )
    assert security.password_work().settings == (3, 2, 4, 2.5)
    build_root(Settings(password_hash_nice=-1))
    assert security.password_work().nice is None  # SCHED_IDLE, the first design
    build_root(Settings())  # back to the defaults for the other tests
    assert security.password_work().nice == 5
