"""Admins: members (list, search, block, unblock), the catalogue (list, hide, unhide movies)
and the audit log. Every route needs an admin, checked on the server from the verified token (`CurrentAdmin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from movievote.api.deps import CurrentAdmin, RootDep
from movievote.api.errors import (
    MALFORMED_BODY,
    TOO_LARGE,
    UNAUTHORIZED,
    UNAVAILABLE,
    VALIDATION,
    as_json,
    doc,
)
from movievote.models import AdminMovie, AdminMoviePage, AuditPage, MemberPage, MemberPublic, User
from movievote.services import admin

router = APIRouter(tags=["admin"])
MemberId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a member's id")]
MovieId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a movie's id")]
Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=admin.MAX_PAGE_SIZE)]
FORBIDDEN = doc(403, "The account is not an admin (`admin_required`).")
NO_MEMBER = doc(404, "No member has this id (`member_not_found`).")
NO_MOVIE = doc(404, "No movie has this id (`movie_not_found`).")
ADMIN_ONLY = {**UNAUTHORIZED, **FORBIDDEN}


class BlockRequest(BaseModel):
    reason: str = Field(
        min_length=1,
        max_length=admin.MAX_REASON_CHARS,
        pattern=r"^[^\x00]*\S[^\x00]*$",
        description=f"why (1 to {admin.MAX_REASON_CHARS} characters, not all spaces, no NUL)",
    )


class UnblockRequest(BaseModel):
    reason: str | None = Field(
        default=None,
        max_length=admin.MAX_REASON_CHARS,
        pattern=r"^[^\x00]*$",
        description=f"why, optionally (at most {admin.MAX_REASON_CHARS} characters, no NUL)",
    )


class HideRequest(BaseModel):
    reason: str = Field(
        min_length=1,
        max_length=admin.MAX_REASON_CHARS,
        pattern=r"^[^\x00]*\S[^\x00]*$",
        description=f"why (1 to {admin.MAX_REASON_CHARS} characters, not all spaces, no NUL)",
    )


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


def _actor(user: User) -> admin.Actor:
    return admin.Actor(user.id, user.email)


@router.get(
    "/api/admin/members",
    response_model=MemberPage,
    summary="List and search the members (admins only)",
    responses={**ADMIN_ONLY, **VALIDATION},
)
async def list_members(
    _admin: CurrentAdmin,
    root: RootDep,
    q: Annotated[
        str | None,
        Query(
            max_length=254,
            pattern=r"^[^\x00]*$",
            description="part of the address or the display name, no NUL character",
        ),
    ] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> MemberPage:
    return await admin.list_members(q=q, page=page, page_size=page_size, db=root.db)


@router.post(
    "/api/admin/members/{member_id}/block",
    response_model=MemberPublic,
    summary="Block a member: no log-in, no vote, every session ended (admins only)",
    responses={**ADMIN_ONLY, **NO_MEMBER, **MALFORMED_BODY, **VALIDATION},
)
async def block_member(
    member_id: MemberId, body: BlockRequest, user: CurrentAdmin, root: RootDep
) -> MemberPublic:
    return await admin.block_member(
        user_id=member_id, reason=body.reason, actor=_actor(user), db=root.db
    )


@router.post(
    "/api/admin/members/{member_id}/unblock",
    response_model=MemberPublic,
    summary="Unblock a member (admins only)",
    responses={**ADMIN_ONLY, **NO_MEMBER, **MALFORMED_BODY, **VALIDATION},
)
async def unblock_member(
    member_id: MemberId,
    user: CurrentAdmin,
    root: RootDep,
    body: UnblockRequest | None = None,
) -> MemberPublic:
    return await admin.unblock_member(
        user_id=member_id,
        reason=body.reason if body else None,
        actor=_actor(user),
        db=root.db,
    )


@router.get(
    "/api/admin/movies",
    response_model=AdminMoviePage,
    summary="List and search every movie, hidden ones included (admins only)",
    responses={**ADMIN_ONLY, **VALIDATION},
)
async def list_movies(
    _admin: CurrentAdmin,
    root: RootDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[^\x00]*$",
            description="part of the title or the original title, no NUL character",
        ),
    ] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> AdminMoviePage:
    return await admin.list_movies(q=q, page=page, page_size=page_size, db=root.db)


@router.post(
    "/api/admin/movies/{movie_id}/hide",
    response_model=AdminMovie,
    summary="Hide a movie: out of the catalogue and the vote, votes cast stay (admins only)",
    responses={**ADMIN_ONLY, **NO_MOVIE, **MALFORMED_BODY, **VALIDATION},
)
async def hide_movie(
    movie_id: MovieId, body: HideRequest, user: CurrentAdmin, root: RootDep
) -> AdminMovie:
    return await admin.hide_movie(
        movie_id=movie_id, reason=body.reason, actor=_actor(user), db=root.db
    )


@router.post(
    "/api/admin/movies/{movie_id}/unhide",
    response_model=AdminMovie,
    summary="Put a hidden movie back in the catalogue and the vote (admins only)",
    responses={**ADMIN_ONLY, **NO_MOVIE, **MALFORMED_BODY, **VALIDATION},
)
async def unhide_movie(
    movie_id: MovieId,
    user: CurrentAdmin,
    root: RootDep,
    body: UnblockRequest | None = None,
) -> AdminMovie:
    return await admin.unhide_movie(
        movie_id=movie_id,
        reason=body.reason if body else None,
        actor=_actor(user),
        db=root.db,
    )


@router.get(
    "/api/admin/audit",
    response_model=AuditPage,
    summary="The audit log, newest first (admins only)",
    responses={**ADMIN_ONLY, **VALIDATION},
)
async def audit(
    _admin: CurrentAdmin, root: RootDep, page: Page = 1, page_size: PageSize = 50
) -> AuditPage:
    return await admin.audit_entries(page=page, page_size=page_size, db=root.db)


@router.get(
    "/api/admin/audit.csv",
    response_class=CsvResponse,
    summary="The whole audit log as CSV, oldest first, streamed (admins only)",
    responses={
        200: {
            "description": "One row per admin action, after a header row.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **as_json({**ADMIN_ONLY, **VALIDATION, **TOO_LARGE, **UNAVAILABLE}),
    },
)
async def audit_csv(_admin: CurrentAdmin, root: RootDep) -> CsvResponse:
    return CsvResponse(
        admin.audit_csv(db=root.db),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="movievote-audit.csv"'},
    )
