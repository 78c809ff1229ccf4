"""The paired screens' hub: which display sockets of this process show which screen, and the
event it sends one when the desk changes it (only to sockets this process holds)."""

from __future__ import annotations

from types import SimpleNamespace

from movievote import live
from movievote.live import ScreenHub


def hub_with_sockets(sockets: dict[str, tuple[str, str]]) -> tuple[ScreenHub, list[tuple]]:
    """A hub whose app holds `sockets` (token -> (sid, instance)); this process is "here"."""
    sent: list[tuple] = []

    async def emit(event, update, to):  # type: ignore[no-untyped-def]
        sent.append((to, [e.name for e in update.events]))

    manager = SimpleNamespace(
        instance_id="here",
        token_to_socket={
            token: SimpleNamespace(sid=sid, instance_id=where)
            for token, (sid, where) in sockets.items()
        },
    )
    app = SimpleNamespace(event_namespace=SimpleNamespace(_token_manager=manager, emit=emit))
    events = {"settings": lambda: live.LiveRanking.link}
    return ScreenHub(app, events), sent  # type: ignore[arg-type]


def test_a_browser_shows_one_screen_and_silent_ones_are_forgotten(monkeypatch):
    hub, _ = hub_with_sockets({})
    hub.register(1, "tab-a")
    hub.register(1, "tab-b")
    hub.register(2, "tab-a")  # the tab now shows screen 2 (unpaired, paired anew)
    assert hub.tokens_of(1) == ["tab-b"] and hub.tokens_of(2) == ["tab-a"]
    later = live.time.monotonic() + live.SCREEN_REGISTRATION_SECONDS + 1
    monkeypatch.setattr(live.time, "monotonic", lambda: later)
    assert hub.tokens_of(1) == [] and hub.tokens_of(2) == []
    assert hub._tokens == {} and hub._screen_of == {}


async def test_a_change_is_sent_to_the_screens_sockets_held_here_only():
    hub, sent = hub_with_sockets(
        {"tab-a": ("sid-a", "here"), "tab-b": ("sid-b", "elsewhere"), "tab-c": ("sid-c", "here")}
    )
    for token in ("tab-a", "tab-b"):
        hub.register(7, token)
    hub.register(8, "tab-c")
    await hub.screen_changed(7, "settings")
    await hub.screen_changed(7, "unknown")  # nothing to send for it
    assert len(sent) == 1
    to, names = sent[0]
    assert to == "sid-a" and len(names) == 1 and names[0].endswith(".link")
