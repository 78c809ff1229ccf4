"""Handler tests' browser: a page's state in a fresh state tree, logged in or not. A test sends
it events as the browser's websocket would, forged ones included (a member's browser can send
any event it likes, whatever the page shows)."""

from __future__ import annotations

from typing import TypeVar

from reflex.state import BaseState, State

from movievote.models import User
from movievote.root import get_root
from movievote.services import accounts
from movievote.state import AuthState

S = TypeVar("S", bound=BaseState)


async def page_of(cls: type[S], token: str = "") -> S:
    """`cls`'s state in one browser's fresh state tree, logged in with `token` ("": a visitor)."""
    tree = State(_reflex_internal_init=True)
    page = tree.get_substate(cls.get_full_name().split(".")[1:])
    (await page.get_state(AuthState)).token = token
    return page  # type: ignore[return-value]


async def session_token(user: User) -> str:
    """The token of a new session of `user`, as a log-in gives it."""
    root = get_root()
    return (await accounts.open_session(user=user, db=root.db, settings=root.settings)).token
