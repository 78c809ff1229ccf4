"""How the live feed hands a ranking to the sockets: one Socket.IO packet, encoded once, queued
for each socket's Engine.IO writer; and the writer's poll that replaces Engine.IO's."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket

from movievote.live import _poll, deliver

NAMESPACE = "/_event"
ENGINEIO_POLL = AsyncSocket.poll  # Engine.IO's own, which `tune_engineio` replaces
POLLS = pytest.mark.parametrize("poll", [_poll, ENGINEIO_POLL], ids=["ours", "engineio"])


async def server_with_sockets(count: int) -> tuple[socketio.AsyncServer, list[str], list[str]]:
    """A Socket.IO server with `count` connected sockets (no network): their Socket.IO ids and
    Engine.IO ids."""
    server = socketio.AsyncServer(async_mode="asgi")
    sids, eio_sids = [], []
    for n in range(count):
        eio_sid = f"eio-{n}"
        sids.append(await server.manager.connect(eio_sid, NAMESPACE))
        server.eio.sockets[eio_sid] = AsyncSocket(server.eio, eio_sid)
        eio_sids.append(eio_sid)
    return server, sids, eio_sids


async def test_one_packet_encoded_once_is_queued_for_every_socket():
    server, sids, eio_sids = await server_with_sockets(3)
    namespace = SimpleNamespace(server=server, namespace=NAMESPACE)
    server.eio.sockets[eio_sids[2]].closed = True  # a socket closing: skipped
    await deliver(namespace, [*sids, "gone"], "event", {"delta": {"s": {"n": 1}}})
    first = server.eio.sockets[eio_sids[0]].queue.get_nowait()
    second = server.eio.sockets[eio_sids[1]].queue.get_nowait()
    assert first is second  # one object: its encoding is cached and shared
    assert first.packet_type == eio_packet.MESSAGE
    # exactly what AsyncServer.emit would send: Engine.IO message (4), Socket.IO event (2)
    assert first.encode() == '42/_event,["event",{"delta":{"s":{"n":1}}}]'
    assert server.eio.sockets[eio_sids[2]].queue.empty()


async def test_without_a_socketio_server_the_namespace_emits():
    emitted = []

    async def emit(event, data, to):  # type: ignore[no-untyped-def]
        emitted.append((event, data, to))

    await deliver(SimpleNamespace(emit=emit), ["a", "b"], "event", {"x": 1})
    assert emitted == [("event", {"x": 1}, ["a", "b"])]


def socket_with(interval: float) -> AsyncSocket:
    server = SimpleNamespace(ping_interval=interval, ping_timeout=0.0, create_queue=asyncio.Queue)
    return AsyncSocket(server, "eio-x")  # type: ignore[arg-type]


@POLLS
async def test_the_poll_returns_what_is_queued_then_waits(poll):
    _poll = poll
    socket = socket_with(5.0)
    one, two = eio_packet.Packet(eio_packet.MESSAGE, "a"), eio_packet.Packet(eio_packet.PING)
    socket.queue.put_nowait(one)
    socket.queue.put_nowait(two)
    assert await _poll(socket) == [one, two]
    waiting = asyncio.ensure_future(_poll(socket))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    socket.queue.put_nowait(one)
    assert await waiting == [one]
    assert socket.queue._unfinished_tasks == 0  # every get matched by task_done, as Engine.IO's


@POLLS
async def test_the_poll_ends_when_the_socket_closes_and_after_the_ping_timeout(poll):
    _poll = poll
    socket = socket_with(5.0)
    last = eio_packet.Packet(eio_packet.MESSAGE, "last")
    socket.queue.put_nowait(last)
    socket.queue.put_nowait(None)  # the socket closed after queueing one more packet
    assert await _poll(socket) == [last]
    assert await _poll(socket) == []  # the None stays for the next poll: the writer stops
    quiet = socket_with(0.05)
    with pytest.raises(eio_exceptions.QueueEmpty):
        await _poll(quiet)
    cancelled = asyncio.ensure_future(_poll(socket_with(5.0)))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    with pytest.raises(eio_exceptions.QueueEmpty):
        await cancelled


async def test_a_websocket_writer_waits_without_a_timer_until_its_socket_ends():
    socket = socket_with(0.01)  # a long-polling wait would time out at once
    socket.upgraded = True  # a websocket: its receive loop queues None when it ends
    waiting = asyncio.ensure_future(_poll(socket))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    socket.queue.put_nowait(None)
    assert await waiting == []


async def test_once_accepted_a_websocket_sends_straight_to_the_server():
    from engineio.async_drivers.asgi import WebSocket

    from movievote.api.edges import RAW_SEND as EDGES_RAW_SEND
    from movievote.live import RAW_SEND, _accept_then_send_raw

    assert RAW_SEND == EDGES_RAW_SEND
    through_middleware, straight = [], []

    async def wrapped(message):  # type: ignore[no-untyped-def]
        through_middleware.append(message)

    async def raw(message):  # type: ignore[no-untyped-def]
        straight.append(message)

    async def handler(ws):  # type: ignore[no-untyped-def]
        await ws.send("42/_event,[]")

    environ = {"asgi.receive": None, "asgi.send": wrapped, "asgi.scope": {RAW_SEND: raw}}
    assert await _accept_then_send_raw(WebSocket(handler, None), environ) == ""
    assert through_middleware == [{"type": "websocket.accept"}]  # Reflex adds its subprotocol
    assert straight == [{"type": "websocket.send", "bytes": None, "text": "42/_event,[]"}]
    without = {"asgi.receive": None, "asgi.send": wrapped, "asgi.scope": {}}
    await _accept_then_send_raw(WebSocket(handler, None), without)  # no edges: as Engine.IO
    assert len(through_middleware) == 3
