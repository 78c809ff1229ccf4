"""Where bcrypt runs (security.PasswordWork): idle threads first, a copy on normal threads when
the idle ones are too slow, and a bounded queue that answers "busy" at once."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from movievote import security
from movievote.errors import ServerBusy


def _slow(seconds: float) -> str:
    time.sleep(seconds)
    return threading.current_thread().name


def _slow_when_idle(seconds: float) -> str:
    """What a starved idle thread looks like: slow there, quick on a normal thread."""
    name = threading.current_thread().name
    time.sleep(seconds if name.startswith("bcrypt-idle") else 0.01)
    return name


def _scheduling() -> tuple[str, int, int]:
    tid = threading.get_native_id()
    return (
        threading.current_thread().name,
        os.sched_getscheduler(tid),
        os.getpriority(os.PRIO_PROCESS, tid),
    )


async def test_work_beyond_the_threads_and_the_queue_is_refused_at_once():
    # a place per thread (one idle, one normal) and one more in the queue: three at once
    work = security.PasswordWork(threads=1, idle_threads=1, hedge_after=None, queue=1)
    jobs = [asyncio.ensure_future(work.run(_slow, 0.2)) for _ in range(3)]
    await asyncio.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(ServerBusy) as refused:
        await work.run(_slow, 0.2)
    assert time.monotonic() - started < 0.05  # no wait behind the others
    assert refused.value.retry_after == 1 and refused.value.code == "busy"
    names = await asyncio.gather(*jobs)
    assert len(set(names)) == 1 and names[0].startswith("bcrypt-idle")  # one idle thread
    assert work.waiting == 0 and work.refused == 1 and work.hedged == 0
    assert (await work.run(_slow, 0)).startswith("bcrypt-idle")  # and it takes work again


async def test_work_the_idle_threads_are_too_slow_for_is_also_given_to_a_normal_thread():
    work = security.PasswordWork(threads=1, idle_threads=1, hedge_after=0.05)
    # quick work never needs the copy
    assert (await work.run(_slow, 0)).startswith("bcrypt-idle")
    assert work.hedged == 0
    started = time.monotonic()
    name = await work.run(_slow_when_idle, 1.0)
    assert time.monotonic() - started < 0.5  # did not wait for the idle copy
    assert not name.startswith("bcrypt-idle")
    assert work.hedged == 1


async def test_idle_and_normal_threads_are_scheduled_as_asked():
    idle = await security.PasswordWork(hedge_after=None).run(_scheduling)
    assert idle[0].startswith("bcrypt-idle")
    assert idle[1] == os.SCHED_IDLE or idle[2] == 19  # SCHED_IDLE, or nice 19 where refused
    normal = await security.PasswordWork(hedge_after=0, nice=5).run(_scheduling)
    assert not normal[0].startswith("bcrypt-idle")
    assert (normal[1], normal[2]) == (os.SCHED_OTHER, 5)


async def test_the_root_configures_the_process_s_password_work(monkeypatch):
    from movievote.config import Settings
    from movievote.root import build_root, password_threads

    monkeypatch.setenv("GRANIAN_WORKERS", "2")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert password_threads(Settings()) == 1
    monkeypatch.setenv("GRANIAN_WORKERS", "1")
    assert password_threads(Settings()) == 2
    assert password_threads(Settings(password_hash_threads=3)) == 3
    build_root(
        Settings(
            password_hash_threads=3,
            password_hash_queue=4,
            password_hash_nice=2,
            password_hash_hedge_seconds=-1,
        )
    )
    assert security.password_work().settings == (3, 3, 2, None, 4)
    build_root(Settings())  # back to the defaults for the other tests
    assert security.password_work().hedge_after == 0.3
