"""API over a real TCP server: the SSE stream sees another client's vote within a second."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from movievote.api.app import create_api
from tests.conftest import verify_address


@pytest.fixture
async def live_api() -> AsyncIterator[str]:
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(create_api(), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def next_event(lines: AsyncIterator[str]) -> dict:
    event, data = None, None
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "" and event:
            assert event == "ranking"
            return data
    raise AssertionError("stream ended")


async def test_stream_sends_the_ranking_then_each_change_within_a_second(live_api, movies):
    async with (
        httpx.AsyncClient(base_url=live_api, timeout=10) as voter,
        httpx.AsyncClient(base_url=live_api, timeout=10) as watcher,
    ):
        await voter.post(
            "/api/signup",
            json={"email": "v@example.com", "password": "password123", "display_name": "V"},
        )
        await verify_address("v@example.com")
        token = (
            await voter.post(
                "/api/token", data={"username": "v@example.com", "password": "password123"}
            )
        ).json()["access_token"]
        async with watcher.stream("GET", "/api/ranking/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            first = await next_event(lines)
            assert first["total_votes"] == 0
            started = time.monotonic()
            response = await voter.post(
                f"/api/vote/{movies[4]}", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 201
            update = await asyncio.wait_for(next_event(lines), timeout=1.0)
            elapsed = time.monotonic() - started
            assert update["total_votes"] == 1 and update["items"][0]["movie"]["id"] == movies[4]
            assert elapsed < 1.0


async def test_many_listeners_cost_one_computation_per_change(live_api, movies):
    from movievote.root import get_root

    async with httpx.AsyncClient(base_url=live_api, timeout=10) as client:
        await client.post(
            "/api/signup",
            json={"email": "w@example.com", "password": "password123", "display_name": "W"},
        )
        await verify_address("w@example.com")
        token = (
            await client.post(
                "/api/token", data={"username": "w@example.com", "password": "password123"}
            )
        ).json()["access_token"]
        listeners = [client.stream("GET", "/api/ranking/stream") for _ in range(20)]
        streams = [await s.__aenter__() for s in listeners]
        iterators = [s.aiter_lines() for s in streams]
        for lines in iterators:
            assert (await next_event(lines))["total_votes"] == 0
        cache = get_root().cache
        before = cache.entries.computations
        assert (
            await client.post(
                f"/api/vote/{movies[0]}", headers={"Authorization": f"Bearer {token}"}
            )
        ).status_code == 201
        updates = await asyncio.gather(
            *(asyncio.wait_for(next_event(lines), 2.0) for lines in iterators)
        )
        assert all(u["total_votes"] == 1 for u in updates)
        assert cache.entries.computations - before == 1
        for s in listeners:
            await s.__aexit__(None, None, None)
