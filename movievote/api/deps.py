"""Dependencies: the current user from a verified bearer token, the client's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from movievote.api.errors import ApiError
from movievote.errors import InvalidToken, UserNotFound
from movievote.models import User
from movievote.services import accounts

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/token", auto_error=False)


async def current_user(token: Annotated[str | None, Depends(oauth2)]) -> User:
    """The user named by a valid, unexpired HS256 token whose account still exists."""
    if not token:
        raise ApiError(
            401,
            "not_authenticated",
            "Log in first: send `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return await accounts.user_from_token(token=token)
    except (InvalidToken, UserNotFound) as exc:
        raise ApiError(
            401, "invalid_token", exc.message, headers={"WWW-Authenticate": "Bearer"}
        ) from exc


CurrentUser = Annotated[User, Depends(current_user)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]
