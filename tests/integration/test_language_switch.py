"""The navbar's language switch, for a logged-in member whose account has a language."""

from __future__ import annotations

from reflex.state import State

from movievote.root import get_root
from movievote.services import accounts
from movievote.state import AuthState, LocaleState


async def test_a_member_switching_language_gets_it_at_once_and_on_the_account(db, make_user):
    user = await make_user(language="en")
    assert user.language == "en"
    root = get_root()
    token = (await accounts.open_session(user=user, db=db, settings=root.settings)).token
    tree = State(_reflex_internal_init=True)
    locale = tree.get_substate(LocaleState.get_full_name().split(".")[1:])
    (await locale.get_state(AuthState)).token = token
    await LocaleState.choose.fn(locale, "pt-BR")
    # the account's old language must not win over the choice just made
    assert locale.chosen == "pt-BR"
    assert (await accounts.get_user(user_id=user.id, db=db)).language == "pt-BR"
