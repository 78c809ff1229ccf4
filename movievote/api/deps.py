"""Dependencies: the current user from a verified bearer token, the client's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from movievote.api.errors import ApiError
from movievote.config import get_settings
from movievote.errors import InvalidToken, UserNotFound
from movievote.models import User
from movievote.security import decode_access_token
from movievote.services import accounts

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/token", auto_error=False)


def _required(token: str | None) -> str:
    if not token:
        raise ApiError(
            401,
            "not_authenticated",
            "Log in first: send `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token


async def current_user_id(token: Annotated[str | None, Depends(oauth2)]) -> int:
    """The user id of a valid, unexpired HS256 token, without a database read.

    For routes whose own statement proves the account still exists (voting does).
    """
    try:
        return decode_access_token(_required(token), settings=get_settings())
    except InvalidToken as exc:
        raise ApiError(
            401, "invalid_token", exc.message, headers={"WWW-Authenticate": "Bearer"}
        ) from exc


async def current_user(token: Annotated[str | None, Depends(oauth2)]) -> User:
    """The user named by a valid, unexpired HS256 token whose account still exists."""
    try:
        return await accounts.user_from_token(token=_required(token))
    except (InvalidToken, UserNotFound) as exc:
        raise ApiError(
            401, "invalid_token", exc.message, headers={"WWW-Authenticate": "Bearer"}
        ) from exc


CurrentUser = Annotated[User, Depends(current_user)]
CurrentUserId = Annotated[int, Depends(current_user_id)]


async def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]
