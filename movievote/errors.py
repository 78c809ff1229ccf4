"""Domain errors: plain exceptions the pages and the API translate for people."""

from __future__ import annotations

from datetime import date, datetime


def N_(text: str) -> str:
    """Mark a text for translation without translating it now (`scripts/i18n.sh` extracts it;
    `i18n.gettext` translates it where it is read)."""
    return text


class DomainError(Exception):
    """A rule of the domain said no; `code` is stable, the message is for a person.

    `message` is an English template marked for translation (`N_("... {limit} ...")`) and
    `params` fill it: `message` reads in English, `i18n.localised(exc, language)` in any
    language (numbers, months and days formatted for it).
    """

    code = "domain_error"

    def __init__(self, message: str, /, **params: object) -> None:
        self.template = message
        self.params = params
        self.message = (
            message.format(**{k: str(v) for k, v in params.items()}) if params else message
        )
        super().__init__(self.message)


class InvalidInput(DomainError):
    code = "invalid_input"

    def __init__(self, message: str, /, *, field: str, **params: object) -> None:
        super().__init__(message, **params)
        self.field = field


class EmailTaken(DomainError):
    code = "email_taken"


class InvalidCredentials(DomainError):
    code = "invalid_credentials"


class InvalidToken(DomainError):
    code = "invalid_token"


class TooManyAttempts(DomainError):
    """Too many failed logins for an account or from a client; try again after `retry_after`."""

    code = "too_many_attempts"

    def __init__(self, message: str, /, *, retry_after: int, **params: object) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after


class ServerBusy(DomainError):
    """Too much password work already waiting in this process (a wave of log-ins): try again
    after `retry_after` seconds rather than wait behind it."""

    code = "busy"

    def __init__(self, message: str, /, *, retry_after: int, **params: object) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after


class EmailNotVerified(DomainError):
    """The account's email address is not verified yet: it may browse, not vote."""

    code = "email_not_verified"


class SignupClosed(DomainError):
    """This vote admits only some addresses (a domain list) or invited people."""

    code = "signup_closed"


class InvalidLink(DomainError):
    """A verification or password-reset link that is unknown, used already or expired."""

    code = "invalid_link"


class PasswordRequired(DomainError):
    """Confirming an address needs the account's password (or its own session) too."""

    code = "password_required"


class WrongPassword(DomainError):
    """The current password given to change it is not the account's."""

    code = "wrong_password"


class AccountBlocked(DomainError):
    """An admin blocked this account: it may not log in or vote."""

    code = "account_blocked"


class MemberNotFound(DomainError):
    """An admin named a member (an id or an address) that no account has."""

    code = "member_not_found"


class ScreenNotFound(DomainError):
    """No paired screen has this id."""

    code = "screen_not_found"


class ScreenCodeNotFound(DomainError):
    """No unpaired screen shows this pairing code (wrong, used, or expired)."""

    code = "screen_code_not_found"


class AlreadyVerified(DomainError):
    """An admin asked to mail a verification link to an address that is verified already."""

    code = "already_verified"


class InviteNotFound(DomainError):
    """An admin named an invite (by id) that does not exist."""

    code = "invite_not_found"


class SearchNotConfigured(DomainError):
    """An external catalogue (TMDB, OMDb) was asked for without its API key set."""

    code = "search_not_configured"


class CatalogueUnreachable(DomainError):
    """An external catalogue did not answer, refused the key, or answered nonsense."""

    code = "catalogue_unreachable"


class UserNotFound(DomainError):
    code = "user_not_found"


class MovieNotFound(DomainError):
    code = "movie_not_found"


class MovieHidden(DomainError):
    """An admin hid this movie: it cannot be voted for (the votes already cast stay)."""

    code = "movie_hidden"


class VoteNotFound(DomainError):
    """An admin named a vote that does not exist."""

    code = "vote_not_found"


class VoteVoided(DomainError):
    """The vote is voided already: voiding it again would change nothing."""

    code = "vote_voided"


class VoteNotVoided(DomainError):
    """The vote counts: there is nothing to restore."""

    code = "vote_not_voided"


class ResultFinal(DomainError):
    """The month's result is final (its end plus RESULTS_GRACE_HOURS): its votes stay as they are."""

    code = "result_final"


class ResultNotFound(DomainError):
    """No published result for that month (yet): the message says when it will be, or why
    there is none."""

    code = "result_not_found"


class ResultNotDue(DomainError):
    """A month cannot be published before its result is final (its end plus the grace)."""

    code = "result_not_due"


class AlreadyVoted(DomainError):
    """The user has voted this period already: carries that vote and when the next one opens."""

    code = "already_voted"

    def __init__(
        self,
        message: str,
        *,
        vote_id: int,
        movie_id: int,
        period: date,
        voted_at: datetime,
        next_vote_at: datetime,
        **params: object,
    ) -> None:
        super().__init__(message, **params)
        self.vote_id = vote_id
        self.movie_id = movie_id
        self.period = period
        self.voted_at = voted_at
        self.next_vote_at = next_vote_at
