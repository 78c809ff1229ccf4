"""What a delivery transport (email, SMS) is: it sends a message to a recipient, or says why
it could not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class DeliveryError(Exception):
    """The channel could not deliver; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


class Recipient(Protocol):
    """Whom a notification goes to: a User row, or the few columns of one."""

    @property
    def id(self) -> int | None: ...
    @property
    def email(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...  # what their messages are written in
    @property
    def notification_channel(self) -> str: ...


class Notifier(Protocol):
    channel: str

    async def send(self, *, user: Recipient, message: Message) -> None: ...
