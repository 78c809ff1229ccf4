"""Lobby screens for admins: pair one with the code it shows, list them with their health,
rename one, choose its board and language, reload or unpair it. Every route needs an admin
(`CurrentAdmin`); each action writes its audit row, and the screen follows within a second
or two."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from movievote.api.deps import CurrentAdmin, RootDep
from movievote.api.errors import MALFORMED_BODY, UNAUTHORIZED, VALIDATION, doc
from movievote.languages import Language
from movievote.models import User
from movievote.root import Root
from movievote.services import admin, screens
from movievote.services.changes import process_origin

router = APIRouter(tags=["admin"])
ScreenId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a paired screen's id")]
Board = Literal["month", "all_time", "winner", "hall_of_fame"]
ADMIN_ONLY = {**UNAUTHORIZED, **doc(403, "The account is not an admin (`admin_required`).")}
NO_SCREEN = doc(404, "No paired screen has this id (`screen_not_found`).")
NAME = Field(
    min_length=1,
    max_length=screens.MAX_NAME_CHARS,
    pattern=r"^[^\x00]*\S[^\x00]*$",
    description=f"what the admins call it (1 to {screens.MAX_NAME_CHARS} characters)",
)


class ScreenPublic(BaseModel):
    """A paired screen and its health (`live`, `reconnecting`, `silent` after a minute
    without a heartbeat, `never` seen since pairing)."""

    id: int
    name: str
    board: Board
    language: Language
    paired_at: datetime
    health: Literal["live", "reconnecting", "silent", "never"]
    last_seen_at: datetime | None
    ranking_at: datetime | None  # when the ranking the screen shows was computed
    user_agent: str
    resolution: str


class PairRequest(BaseModel):
    code: str = Field(
        min_length=1, max_length=12, pattern=r"^[^\x00]*$", description="the code on the screen"
    )
    name: str = NAME
    board: Board = "month"
    language: Language = "en"


class ScreenChange(BaseModel):
    """What to change; a field left out stays as it is."""

    name: str | None = NAME
    board: Board | None = None
    language: Language | None = None


def _public(found: screens.ScreenHealth) -> ScreenPublic:
    return ScreenPublic.model_validate(found, from_attributes=True)


def _desk(user: User, root: Root) -> screens.Desk:
    return screens.Desk(admin.Actor(user.id, user.email), root.db, root.screens, process_origin())


@router.get(
    "/api/admin/screens",
    response_model=list[ScreenPublic],
    summary="The paired screens and their health (admins only)",
    responses={**ADMIN_ONLY},
)
async def list_screens(_admin: CurrentAdmin, root: RootDep) -> list[ScreenPublic]:
    return [_public(s) for s in await screens.list_screens(db=root.db)]


@router.post(
    "/api/admin/screens",
    response_model=ScreenPublic,
    status_code=201,
    summary="Pair the screen showing a code (admins only; wrong codes are rate limited)",
    responses={
        **ADMIN_ONLY,
        **MALFORMED_BODY,
        **VALIDATION,
        **doc(
            404,
            "No unpaired screen shows this code: wrong, used or expired (`screen_code_not_found`).",
        ),
        **doc(429, "Too many wrong codes from this admin (`too_many_attempts`)."),
    },
)
async def pair_screen(body: PairRequest, user: CurrentAdmin, root: RootDep) -> ScreenPublic:
    return _public(
        await screens.pair(
            code=body.code,
            name=body.name,
            board=body.board,
            language=body.language,
            throttle=root.throttle,
            desk=_desk(user, root),
        )
    )


@router.get(
    "/api/admin/screens/{screen_id}",
    response_model=ScreenPublic,
    summary="One paired screen and its health (admins only)",
    responses={**ADMIN_ONLY, **NO_SCREEN, **VALIDATION},
)
async def get_screen(screen_id: ScreenId, _admin: CurrentAdmin, root: RootDep) -> ScreenPublic:
    return _public(await screens.get_screen(screen_id=screen_id, db=root.db))


@router.patch(
    "/api/admin/screens/{screen_id}",
    response_model=ScreenPublic,
    summary="Rename a screen, change its board or language (admins only)",
    responses={**ADMIN_ONLY, **NO_SCREEN, **MALFORMED_BODY, **VALIDATION},
)
async def change_screen(
    screen_id: ScreenId, body: ScreenChange, user: CurrentAdmin, root: RootDep
) -> ScreenPublic:
    desk = _desk(user, root)
    found = await screens.get_screen(screen_id=screen_id, db=root.db)
    if body.name is not None:
        found = await screens.rename(screen_id=screen_id, name=body.name, desk=desk)
    if body.board is not None:
        found = await screens.set_board(screen_id=screen_id, board=body.board, desk=desk)
    if body.language is not None:
        found = await screens.set_language(
            screen_id=screen_id,
            language=body.language,
            desk=desk,
        )
    return _public(found)


@router.post(
    "/api/admin/screens/{screen_id}/reload",
    response_model=ScreenPublic,
    summary="Reload a screen's page in its browser (admins only)",
    responses={**ADMIN_ONLY, **NO_SCREEN, **VALIDATION},
)
async def reload_screen(screen_id: ScreenId, user: CurrentAdmin, root: RootDep) -> ScreenPublic:
    return _public(await screens.reload(screen_id=screen_id, desk=_desk(user, root)))


@router.delete(
    "/api/admin/screens/{screen_id}",
    status_code=204,
    summary="Unpair a screen: it shows a new pairing code (admins only)",
    responses={**ADMIN_ONLY, **NO_SCREEN, **VALIDATION},
)
async def unpair_screen(screen_id: ScreenId, user: CurrentAdmin, root: RootDep) -> None:
    await screens.unpair(screen_id=screen_id, desk=_desk(user, root))
