"""Sign up, log in (OAuth2 password form), who am I."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from movievote.api.deps import ClientAddress, CurrentUser
from movievote.api.errors import MALFORMED_BODY, UNAUTHORIZED, VALIDATION, doc
from movievote.models import UserPublic
from movievote.services import accounts

router = APIRouter(tags=["accounts"])


class SignupRequest(BaseModel):
    email: str = Field(
        max_length=254, examples=["ana@example.com"], json_schema_extra={"format": "email"}
    )
    password: str = Field(min_length=8, max_length=72, description="8 characters to 72 bytes")
    display_name: str = Field(min_length=1, max_length=80, examples=["Ana"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


@router.post(
    "/api/signup",
    status_code=201,
    response_model=UserPublic,
    summary="Create an account",
    responses={
        **doc(409, "An account with this email exists (`email_taken`)."),
        **MALFORMED_BODY,
        **VALIDATION,
    },
)
async def signup(body: SignupRequest) -> UserPublic:
    user = await accounts.sign_up(
        email=body.email, password=body.password, display_name=body.display_name
    )
    return UserPublic.model_validate(user, from_attributes=True)


@router.post(
    "/api/token",
    response_model=TokenResponse,
    summary="Log in: trade email and password for a bearer token",
    responses={
        **doc(401, "Wrong email or password (`invalid_credentials`)."),
        **doc(429, "Too many failed logins (`too_many_attempts`); see Retry-After."),
        **MALFORMED_BODY,
        **VALIDATION,
    },
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], client: ClientAddress
) -> TokenResponse:
    issued = await accounts.log_in(email=form.username, password=form.password, client=client)
    return TokenResponse(access_token=issued.token, expires_in=issued.expires_in)


@router.get(
    "/api/me", response_model=UserPublic, summary="The current user", responses={**UNAUTHORIZED}
)
async def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)
