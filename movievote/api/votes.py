"""Voting: once per calendar month."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from movievote.api.deps import CurrentClaims, CurrentUser, RootDep
from movievote.api.errors import UNAUTHORIZED, VALIDATION, AlreadyVotedBody, ErrorBody, doc
from movievote.api.movies import MovieId
from movievote.models import VotePublic
from movievote.periods import current_period, format_period
from movievote.services import voting

router = APIRouter(tags=["votes"])


class MyVote(BaseModel):
    period: str
    vote: VotePublic | None
    can_vote: bool
    next_vote_at: datetime | None = None
    # the vote's organisers voided this month's vote: it does not count (and it still is the
    # month's one vote: can_vote stays false)
    voided: bool = False


@router.post(
    "/api/vote/{movie_id}",
    status_code=201,
    response_model=VotePublic,
    summary="Vote for a movie (once per calendar month)",
    responses={
        **UNAUTHORIZED,
        **doc(403, "The account's email address is not verified yet (`email_not_verified`)."),
        **doc(404, "No such movie (`movie_not_found`)."),
        409: {
            # two refusals share the status: the body says which by its `code`
            "model": AlreadyVotedBody | ErrorBody,
            "description": "Already voted this month (`already_voted`): the vote cast and when"
            " the next opens; or an admin hid the movie (`movie_hidden`): no vote for it.",
        },
        **VALIDATION,
    },
)
async def vote(movie_id: MovieId, claims: CurrentClaims, root: RootDep) -> VotePublic:
    # the vote's statement checks the session is open, the account exists and is verified;
    # the notification is queued, not awaited (the client's connection is not held for it)
    cast, _notified = await root.cast_vote(
        user_id=claims.user_id, movie_id=movie_id, session_id=claims.session_id
    )
    return cast


@router.get(
    "/api/votes/me",
    response_model=MyVote,
    summary="My vote this month (and whether it was voided), and when I can vote next",
    responses={**UNAUTHORIZED},
)
async def my_vote(user: CurrentUser, root: RootDep) -> MyVote:
    assert user.id is not None
    period = current_period(root.settings.zone)
    cast = await voting.vote_of(db=root.db, settings=root.settings, user_id=user.id, period=period)
    return MyVote(
        period=format_period(period),
        vote=cast,
        can_vote=cast is None,
        next_vote_at=cast.next_vote_at if cast else None,
        voided=cast is not None and cast.voided_at is not None,
    )
