"""Admins: a month's votes with their stuffing signs, and voiding or restoring a vote. Every
route needs an admin, checked on the server from the verified token (`CurrentAdmin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from movievote.api.admin import ADMIN_ONLY, Page, PageSize, UnblockRequest
from movievote.api.deps import CurrentAdmin, RootDep
from movievote.api.errors import MALFORMED_BODY, VALIDATION, doc
from movievote.errors import N_, InvalidInput
from movievote.models import MonthVotes, User, VoteStatus
from movievote.periods import parse_period
from movievote.services import admin, moderation

router = APIRouter(tags=["admin"])
VoteId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a vote's id")]
NO_VOTE = doc(404, "No vote has this id (`vote_not_found`).")
REFUSED = doc(
    409,
    "The vote is voided already (`vote_voided`), is not voided (`vote_not_voided`), or its"
    " month's result is final (`result_final`): RESULTS_GRACE_HOURS after the month's end.",
)


class VoidRequest(BaseModel):
    reason: str = Field(
        min_length=1,
        max_length=admin.MAX_REASON_CHARS,
        pattern=r"^[^\x00]*\S[^\x00]*$",
        description=f"why (1 to {admin.MAX_REASON_CHARS} characters, not all spaces, no NUL)",
    )


def _actor(user: User) -> admin.Actor:
    return admin.Actor(user.id, user.email)


@router.get(
    "/api/admin/votes",
    response_model=MonthVotes,
    summary="A month's votes, newest first, with their stuffing signs (admins only)",
    responses={**ADMIN_ONLY, **VALIDATION},
)
async def month_votes(
    _admin: CurrentAdmin,
    root: RootDep,
    month: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
            description="a month written `YYYY-MM` (default: the current one)",
        ),
    ] = None,
    page: Page = 1,
    page_size: PageSize = 50,
    movie_id: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="only this movie's votes")
    ] = None,
    flagged: Annotated[bool, Query(description="only votes that show a sign")] = False,
) -> MonthVotes:
    try:
        period = parse_period(month) if month else None
    except ValueError as exc:
        raise InvalidInput(N_("A month is written YYYY-MM."), field="month") from exc
    return await moderation.month_votes(
        period=period,
        page=page,
        page_size=page_size,
        movie_id=movie_id,
        only_flagged=flagged,
        settings=root.settings,
        db=root.db,
    )


@router.post(
    "/api/admin/votes/{vote_id}/void",
    response_model=VoteStatus,
    summary="Void a vote: it stays stored but no longer counts (admins only)",
    responses={**ADMIN_ONLY, **NO_VOTE, **REFUSED, **MALFORMED_BODY, **VALIDATION},
)
async def void_vote(
    vote_id: VoteId, body: VoidRequest, user: CurrentAdmin, root: RootDep
) -> VoteStatus:
    return await moderation.void_vote(
        vote_id=vote_id,
        reason=body.reason,
        actor=_actor(user),
        settings=root.settings,
        db=root.db,
        subject=root.subject,
    )


@router.post(
    "/api/admin/votes/{vote_id}/restore",
    response_model=VoteStatus,
    summary="Count a voided vote again (admins only)",
    responses={**ADMIN_ONLY, **NO_VOTE, **REFUSED, **MALFORMED_BODY, **VALIDATION},
)
async def restore_vote(
    vote_id: VoteId,
    user: CurrentAdmin,
    root: RootDep,
    body: UnblockRequest | None = None,
) -> VoteStatus:
    return await moderation.restore_vote(
        vote_id=vote_id,
        reason=body.reason if body else None,
        actor=_actor(user),
        settings=root.settings,
        db=root.db,
        subject=root.subject,
    )
