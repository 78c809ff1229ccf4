"""Admins: members (list, search, block, unblock, mail a new verification link), invite codes
(create, list, revoke), the catalogue (list, hide, unhide, edit movies; search TMDB or OMDb
and add from it; import a catalogue file) and the audit log. Every route needs an admin,
checked on the server from the verified token (`CurrentAdmin`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from movievote.api.deps import AskedLanguage, CurrentAdmin, PublicUrl, RootDep
from movievote.api.errors import (
    MALFORMED_BODY,
    TOO_LARGE,
    UNAUTHORIZED,
    UNAVAILABLE,
    VALIDATION,
    as_json,
    doc,
)
from movievote.models import (
    AddedMovie,
    AdminMovie,
    AdminMoviePage,
    AuditPage,
    ExternalSearch,
    ImportSummary,
    InvitePage,
    InvitePublic,
    MemberPage,
    MemberPublic,
    MovieDetails,
    MovieEdit,
    User,
)
from movievote.services import accounts, admin, curation

router = APIRouter(tags=["admin"])
MemberId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a member's id")]
MovieId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a movie's id")]
Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=admin.MAX_PAGE_SIZE)]
FORBIDDEN = doc(403, "The account is not an admin (`admin_required`).")
NO_MEMBER = doc(404, "No member has this id (`member_not_found`).")
NO_MOVIE = doc(404, "No movie has this id (`movie_not_found`).")
NO_INVITE = doc(404, "No invite has this id (`invite_not_found`).")
InviteId = Annotated[int, Path(ge=1, le=2**31 - 1, description="an invite's id")]
Source = Literal["tmdb", "omdb"]
EXTERNAL = {
    **doc(
        502,
        "The external catalogue failed: no answer, the API key refused, or an answer it "
        "cannot read (`catalogue_unreachable`).",
    ),
    **doc(
        503,
        "Searching this catalogue is not configured: the server has no API key for it "
        "(`search_not_configured`); or the database is unreachable (`unavailable`).",
    ),
}
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


class MovieEditRequest(MovieEdit):
    """What to change; a field left out stays as it is (see the rules in the description)."""

    title: str | None = Field(default=None, max_length=curation.MAX_TITLE_CHARS)
    original_title: str | None = Field(default=None, max_length=curation.MAX_TITLE_CHARS)
    year: int | None = Field(default=None, ge=curation.FIRST_YEAR, le=curation.LAST_YEAR)
    overview: str | None = Field(default=None, max_length=curation.MAX_OVERVIEW_CHARS)
    poster_url: str | None = Field(default=None, max_length=curation.MAX_POSTER_CHARS)
    genres: list[str] | None = Field(default=None, max_length=curation.MAX_GENRES)


class AddRequest(BaseModel):
    source: Source
    external_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00]*$",
        description="the movie's id there (TMDB: a number; OMDb: an IMDb id, tt...)",
    )


class InviteRequest(BaseModel):
    max_uses: int = Field(
        default=1, ge=1, le=accounts.MAX_INVITE_USES, description="sign-ups it admits"
    )
    days: float | None = Field(
        default=14,
        gt=0,
        le=admin.MAX_INVITE_DAYS,
        description="days it stays valid; null: no expiry",
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


@router.post(
    "/api/admin/members/{member_id}/resend-verification",
    response_model=MemberPublic,
    status_code=202,
    summary="Mail a member a new link to confirm their address (admins only)",
    responses={
        **ADMIN_ONLY,
        **NO_MEMBER,
        **doc(409, "The address is verified already (`already_verified`)."),
        **doc(429, "Links mailed to this member in the last hour (`too_many_attempts`)."),
        **VALIDATION,
    },
)
async def resend_verification(
    member_id: MemberId, user: CurrentAdmin, root: RootDep, base_url: PublicUrl
) -> MemberPublic:
    return await admin.resend_verification(
        user_id=member_id,
        base_url=base_url,
        actor=_actor(user),
        settings=root.settings,
        db=root.db,
    )


@router.get(
    "/api/admin/invites",
    response_model=InvitePage,
    summary="List the invite codes, newest first, with their uses (admins only)",
    responses={**ADMIN_ONLY, **VALIDATION},
)
async def list_invites(
    _admin: CurrentAdmin, root: RootDep, page: Page = 1, page_size: PageSize = 50
) -> InvitePage:
    return await admin.list_invites(page=page, page_size=page_size, db=root.db)


@router.post(
    "/api/admin/invites",
    response_model=InvitePublic,
    status_code=201,
    summary="Create an invite code for SIGNUP_MODE=invite (admins only)",
    responses={**ADMIN_ONLY, **MALFORMED_BODY, **VALIDATION},
)
async def create_invite(
    user: CurrentAdmin, root: RootDep, body: InviteRequest | None = None
) -> InvitePublic:
    wanted = body or InviteRequest()
    return await admin.create_invite(
        max_uses=wanted.max_uses, days=wanted.days, actor=_actor(user), db=root.db
    )


@router.post(
    "/api/admin/invites/{invite_id}/revoke",
    response_model=InvitePublic,
    summary="End an invite code now (admins only)",
    responses={**ADMIN_ONLY, **NO_INVITE, **VALIDATION},
)
async def revoke_invite(invite_id: InviteId, user: CurrentAdmin, root: RootDep) -> InvitePublic:
    return await admin.revoke_invite(invite_id=invite_id, actor=_actor(user), db=root.db)


@router.get(
    "/api/admin/movies/{movie_id}",
    response_model=MovieDetails,
    summary="One movie with everything an admin edits, hidden or not (admins only)",
    responses={**ADMIN_ONLY, **NO_MOVIE, **VALIDATION},
)
async def get_movie(movie_id: MovieId, _admin: CurrentAdmin, root: RootDep) -> MovieDetails:
    return await curation.get_movie(movie_id=movie_id, db=root.db)


@router.patch(
    "/api/admin/movies/{movie_id}",
    response_model=MovieDetails,
    summary="Edit a movie: titles, year, overview, poster, genres, translations (admins only)",
    description=(
        "Only the fields given change. `title` is required to stay non-empty; an empty "
        "`original_title` becomes the title; `year` from 1870 to 2100 or null; "
        "`poster_url` an https:// address or null; `genres` replaces the movie's (at most 10, "
        "64 characters each); `translations` by language (`pt-BR`): null or an empty title "
        "removes it (the movie reads English there). Recorded in the audit log (the fields "
        "that changed, before and after)."
    ),
    responses={**ADMIN_ONLY, **NO_MOVIE, **MALFORMED_BODY, **VALIDATION},
)
async def edit_movie(
    movie_id: MovieId, body: MovieEditRequest, user: CurrentAdmin, root: RootDep
) -> MovieDetails:
    return await curation.edit_movie(
        movie_id=movie_id, changes=body, actor=_actor(user), db=root.db
    )


@router.get(
    "/api/admin/catalogue/search",
    response_model=ExternalSearch,
    summary="Search TMDB or OMDb by title (admins only; needs the source's API key)",
    responses={**ADMIN_ONLY, **VALIDATION, **EXTERNAL},
)
async def search_catalogue(
    _admin: CurrentAdmin,
    root: RootDep,
    source: Annotated[Source, Query(description="the external catalogue")],
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=curation.MAX_QUERY_CHARS,
            pattern=r"^[^\x00]*$",
            description="part of a title, no NUL character",
        ),
    ],
) -> ExternalSearch:
    return await curation.search_external(
        source=source, query=q, settings=root.settings, http=root.http, db=root.db
    )


@router.post(
    "/api/admin/catalogue/add",
    response_model=AddedMovie,
    status_code=201,
    summary="Add a movie from TMDB or OMDb to the catalogue (admins only)",
    description=(
        "Fetched in full from the source and upserted: a movie already added from the same "
        "source and id is refreshed (200), never duplicated."
    ),
    responses={
        200: {"model": AddedMovie, "description": "It was in the catalogue: refreshed."},
        **ADMIN_ONLY,
        **doc(404, "The source has no movie with this id (`movie_not_found`)."),
        **MALFORMED_BODY,
        **VALIDATION,
        **EXTERNAL,
    },
)
async def add_movie(
    body: AddRequest, user: CurrentAdmin, root: RootDep, response: Response
) -> AddedMovie:
    added = await curation.add_external(
        source=body.source,
        external_id=body.external_id,
        actor=_actor(user),
        settings=root.settings,
        http=root.http,
        db=root.db,
    )
    if not added.created:
        response.status_code = 200
    return added


@router.post(
    "/api/admin/catalogue/import",
    response_model=ImportSummary,
    summary="Import a catalogue file in TMDB format, as `movievote import --file` (admins only)",
    description=(
        "The body is the file itself (`Content-Type: application/json`, up to "
        'MAX_UPLOAD_BYTES, 8 MB by default): `{"genres": [...], "results": [...]}`, an '
        "optional `source`. Movies already imported from the same source and id are updated, "
        "never duplicated; entries that are not movies are skipped and listed in `problems`. "
        "One audit-log row records the counts."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "description": "a catalogue in TMDB format"}
                }
            },
        }
    },
    responses={
        **ADMIN_ONLY,
        **VALIDATION,
        **doc(413, "The file is over MAX_UPLOAD_BYTES, 8 MB by default (`body_too_large`)."),
    },
)
async def import_catalogue(
    request: Request,
    user: CurrentAdmin,
    root: RootDep,
    language: AskedLanguage,
    name: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00]*$",
            description="the file's name, for the audit log",
        ),
    ] = "catalogue.json",
) -> ImportSummary:
    data = await request.body()  # read once the admin is known: nobody else's is read
    parsed = await curation.read_catalogue_file(data, name=name, settings=root.settings)
    report = await curation.import_movies(parsed, actor=_actor(user), db=root.db)
    return curation.summary(report, language)
