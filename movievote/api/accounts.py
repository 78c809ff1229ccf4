"""Accounts: sign up, verify the address, log in and out, who am I, passwords."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from movievote.api.deps import (
    AskedLanguage,
    BearerToken,
    ClientAddress,
    CurrentUser,
    PublicUrl,
    RootDep,
)
from movievote.api.errors import MALFORMED_BODY, UNAUTHORIZED, VALIDATION, doc
from movievote.errors import DomainError
from movievote.i18n import N_, gettext
from movievote.languages import Language
from movievote.models import UserPublic
from movievote.security import BCRYPT_MAX_BYTES
from movievote.services import accounts

router = APIRouter(tags=["accounts"])
# The rule is the service's (accounts.check_password_rules: characters at least, bytes at
# most); the schema states the same bounds, so a longer string is refused before the service.
PASSWORD_FIELD = Field(
    min_length=accounts.PASSWORD_MIN_CHARS,
    max_length=BCRYPT_MAX_BYTES,
    pattern=r"^[^\x00]*$",
    description=(
        f"{accounts.PASSWORD_MIN_CHARS} characters to {BCRYPT_MAX_BYTES} bytes (fewer characters "
        "with accents or emoji), no NUL character"
    ),
)

THROTTLED = doc(429, "Too many attempts from this client (`too_many_attempts`); see Retry-After.")


class SignupRequest(BaseModel):
    email: str = Field(
        max_length=254, examples=["ana@example.com"], json_schema_extra={"format": "email"}
    )
    password: str = PASSWORD_FIELD
    display_name: str = Field(
        min_length=1,
        max_length=80,
        pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$",
        description="1 to 80 characters, not all spaces, no control characters",
        examples=["Ana"],
    )
    invite_code: str | None = Field(
        default=None, max_length=32, description="needed when the vote admits invited people only"
    )
    language: Language | None = Field(
        default=None,
        description="the language the member reads (default: none chosen, the pages follow "
        "the browser's)",
    )


class LanguageChoice(BaseModel):
    language: Language = Field(description="the language the member reads")


class Accepted(BaseModel):
    """What happened, for a person (`detail`) and for a program (`code`)."""

    detail: str
    code: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


class LinkToken(BaseModel):
    token: str = Field(min_length=1, max_length=100, description="the `token` of the mailed link")
    password: str | None = Field(
        default=None,
        max_length=BCRYPT_MAX_BYTES,
        description="the account's password; not needed with the account's own bearer token",
    )


class EmailRequest(BaseModel):
    email: str = Field(max_length=254, json_schema_extra={"format": "email"})


class ResetRequest(BaseModel):
    token: str = Field(min_length=1, max_length=100, description="the `token` of the mailed link")
    new_password: str = PASSWORD_FIELD


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=BCRYPT_MAX_BYTES)
    new_password: str = PASSWORD_FIELD


def check_inbox(address: str, verification_required: bool, language: str) -> Accepted:
    if verification_required:
        return Accepted(
            detail=gettext(
                language,
                N_(
                    "Check your inbox: we sent a message to {email}. Follow its link to "
                    "confirm your address, then log in and vote."
                ),
                email=address,
            ),
            code="check_inbox",
        )
    return Accepted(
        detail=gettext(
            language,
            N_("Check your inbox at {email}, or log in if your account is ready."),
            email=address,
        ),
        code="check_inbox",
    )


@router.post(
    "/api/signup",
    status_code=202,
    response_model=Accepted,
    summary="Create an account (then confirm the address from the email)",
    description=(
        "Answers the same whether or not the address has an account: a new account gets a "
        "verification link (valid 24 h), an existing one's owner gets a note with a "
        "password-reset link. Voting needs a verified address."
    ),
    responses={
        **doc(403, "This vote does not admit the address or invite (`signup_closed`)."),
        **THROTTLED,
        **MALFORMED_BODY,
        **VALIDATION,
    },
)
async def signup(
    body: SignupRequest,
    client: ClientAddress,
    base_url: PublicUrl,
    root: RootDep,
    asked: AskedLanguage,
    request: Request,
) -> Accepted:
    sent = "accept-language" in request.headers  # else the account's language stays open
    result = await accounts.sign_up(
        db=root.db,
        settings=root.settings,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        invite_code=body.invite_code,
        language=body.language or (asked if sent else None),
        client=client,
        base_url=base_url,
        throttle=root.throttle,
    )
    return check_inbox(result.email, result.verification_required, asked)


@router.post(
    "/api/verify-email",
    response_model=UserPublic,
    summary="Confirm an email address with the mailed link's token",
    description=(
        "Whoever follows the link must be the account's owner too: send the account's "
        "bearer token, or its `password`. A mailbox alone does not confirm an account someone "
        "else created with your address (reset the password instead: that confirms it)."
    ),
    responses={
        **doc(403, "Neither the account's token nor its password (`password_required`)."),
        **doc(404, "Unknown, used or expired link (`invalid_link`)."),
        **MALFORMED_BODY,
        **VALIDATION,
    },
)
async def verify_email(body: LinkToken, token: BearerToken, root: RootDep) -> UserPublic:
    user_id = None
    if token:
        try:
            user_id = (
                await accounts.user_from_token(db=root.db, settings=root.settings, token=token)
            ).id
        except DomainError:
            user_id = None  # an ended session: the password may still prove the owner
    return accounts.public(
        await accounts.verify_email(
            db=root.db, token=body.token, user_id=user_id, password=body.password
        )
    )


@router.post(
    "/api/verify-email/resend",
    status_code=202,
    response_model=Accepted,
    summary="Mail a new verification link",
    responses={**UNAUTHORIZED, **doc(429, "Too many emails this hour (`too_many_attempts`).")},
)
async def resend_verification(
    user: CurrentUser, base_url: PublicUrl, root: RootDep, asked: AskedLanguage
) -> Accepted:
    assert user.id is not None
    if not await accounts.resend_verification(
        db=root.db, settings=root.settings, user_id=user.id, base_url=base_url
    ):
        return Accepted(
            detail=gettext(asked, N_("Your address is verified already.")),
            code="already_verified",
        )
    return check_inbox(user.email, True, asked)


@router.post(
    "/api/token",
    response_model=TokenResponse,
    summary="Log in: trade email and password for a bearer token (a new session)",
    responses={
        **doc(401, "Wrong email or password (`invalid_credentials`)."),
        **THROTTLED,
        **MALFORMED_BODY,
        **VALIDATION,
    },
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], client: ClientAddress, root: RootDep
) -> TokenResponse:
    issued = await accounts.log_in(
        db=root.db,
        settings=root.settings,
        email=form.username,
        password=form.password,
        client=client,
        throttle=root.throttle,
    )
    return TokenResponse(access_token=issued.token, expires_in=issued.expires_in)


@router.post(
    "/api/logout",
    status_code=204,
    summary="Log out: end the session of this token (it is refused from now on)",
)
async def logout(token: BearerToken, root: RootDep) -> Response:
    if token:
        await accounts.log_out(db=root.db, settings=root.settings, token=token)
    return Response(status_code=204)


@router.get(
    "/api/me", response_model=UserPublic, summary="The current user", responses={**UNAUTHORIZED}
)
async def me(user: CurrentUser) -> UserPublic:
    return accounts.public(user)


@router.put(
    "/api/me/language",
    response_model=UserPublic,
    summary="Choose the language the member reads",
    responses={**UNAUTHORIZED, **MALFORMED_BODY, **VALIDATION},
)
async def set_language(body: LanguageChoice, user: CurrentUser, root: RootDep) -> UserPublic:
    assert user.id is not None
    return accounts.public(
        await accounts.set_language(db=root.db, user_id=user.id, language=body.language)
    )


@router.put(
    "/api/me/password",
    response_model=TokenResponse,
    summary="Change the password: every other session ends; the answer is a new token",
    responses={
        **UNAUTHORIZED,
        **doc(403, "The current password is not right (`wrong_password`)."),
        **THROTTLED,
        **MALFORMED_BODY,
        **VALIDATION,
    },
)
async def change_password(
    body: PasswordChange, user: CurrentUser, client: ClientAddress, root: RootDep
) -> TokenResponse:
    assert user.id is not None
    issued = await accounts.change_password(
        db=root.db,
        settings=root.settings,
        user_id=user.id,
        current_password=body.current_password,
        new_password=body.new_password,
        client=client,
        throttle=root.throttle,
    )
    return TokenResponse(access_token=issued.token, expires_in=issued.expires_in)


@router.post(
    "/api/password-reset",
    status_code=202,
    response_model=Accepted,
    summary="Mail a password-reset link (the same answer whether or not the address has one)",
    responses={**THROTTLED, **MALFORMED_BODY, **VALIDATION},
)
async def request_password_reset(
    body: EmailRequest,
    client: ClientAddress,
    base_url: PublicUrl,
    root: RootDep,
    asked: AskedLanguage,
) -> Accepted:
    await accounts.request_password_reset(
        db=root.db,
        settings=root.settings,
        email=body.email,
        client=client,
        base_url=base_url,
        throttle=root.throttle,
    )
    return Accepted(
        detail=gettext(
            asked,
            N_(
                "If an account uses this address, we sent it a link to set a new password "
                "(valid for {valid_for})."
            ),
            valid_for=accounts.reset_link_lifetime(root.settings),
        ),
        code="check_inbox",
    )


@router.post(
    "/api/password-reset/confirm",
    response_model=Accepted,
    summary="Set a new password with the mailed link's token; every session ends",
    responses={
        **doc(404, "Unknown, used or expired link (`invalid_link`)."),
        **MALFORMED_BODY,
        **VALIDATION,
    },
)
async def reset_password(
    body: ResetRequest, client: ClientAddress, root: RootDep, asked: AskedLanguage
) -> Accepted:
    await accounts.reset_password(
        db=root.db,
        settings=root.settings,
        token=body.token,
        new_password=body.new_password,
        client=client,
        throttle=root.throttle,
    )
    return Accepted(
        detail=gettext(
            asked,
            N_("Your password is changed and every session was logged out. Log in with it."),
        ),
        code="password_reset",
    )
