"""Dependencies: the current user (or admin) from a verified bearer token and its open
session, the client's address (behind trusted proxies), the address people open the app at."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from movievote.api.errors import ApiError, request_language
from movievote.clients import client_address as resolve_client
from movievote.errors import InvalidToken, UserNotFound
from movievote.i18n import N_
from movievote.models import User
from movievote.root import Root, get_root
from movievote.security import TokenClaims, decode_access_token
from movievote.services import accounts

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/token", auto_error=False)
RootDep = Annotated[Root, Depends(get_root)]  # the process's collaborators (tests override it)
AskedLanguage = Annotated[str, Depends(request_language)]  # Accept-Language, among ours


def _required(token: str | None) -> str:
    if not token:
        raise ApiError(
            401,
            "not_authenticated",
            N_("Log in first: send `Authorization: Bearer <token>`."),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token


async def current_claims(
    token: Annotated[str | None, Depends(oauth2)], root: RootDep
) -> TokenClaims:
    """The user and session of a valid, unexpired HS256 token, without a database read.

    For routes whose own statement proves the session is open and the account exists (voting).
    """
    try:
        return decode_access_token(_required(token), settings=root.settings)
    except InvalidToken as exc:
        raise ApiError(
            401,
            "invalid_token",
            exc.template,
            headers={"WWW-Authenticate": "Bearer"},
            **exc.params,
        ) from exc


async def current_user(token: Annotated[str | None, Depends(oauth2)], root: RootDep) -> User:
    """The user named by a valid, unexpired HS256 token whose account still exists."""
    try:
        return await accounts.user_from_token(
            db=root.db, settings=root.settings, token=_required(token)
        )
    except (InvalidToken, UserNotFound) as exc:
        raise ApiError(
            401,
            "invalid_token",
            exc.template,
            headers={"WWW-Authenticate": "Bearer"},
            **exc.params,
        ) from exc


CurrentUser = Annotated[User, Depends(current_user)]


async def current_admin(user: CurrentUser) -> User:
    """The current user, if an admin (read from the database through the verified token's
    open session on every request: a revoked role takes effect at once); 403 otherwise."""
    if not user.is_admin:
        raise ApiError(403, "admin_required", N_("Only an admin can do this."))
    return user


CurrentAdmin = Annotated[User, Depends(current_admin)]
CurrentClaims = Annotated[TokenClaims, Depends(current_claims)]
BearerToken = Annotated[str | None, Depends(oauth2)]


async def client_address(request: Request, root: RootDep) -> str | None:
    """The client's address: the peer's, or X-Forwarded-For's when the peer is a proxy listed
    in FORWARDED_ALLOW_IPS (movievote.clients)."""
    peer = request.client.host if request.client else None
    # every X-Forwarded-For line, in order: a proxy may add its own line after the client's
    forwarded = ", ".join(request.headers.getlist("x-forwarded-for"))
    return resolve_client(peer, forwarded, allowed=root.settings.forwarded_allow_ips)


ClientAddress = Annotated[str | None, Depends(client_address)]


async def public_url(request: Request, root: RootDep) -> str:
    """Where people open the app, for links in emails: PUBLIC_URL, else this request's origin."""
    configured = root.settings.public_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")


PublicUrl = Annotated[str, Depends(public_url)]
