"""A real SMTP server for tests (aiosmtpd), and what it received."""

from __future__ import annotations

import re
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import Message

from aiosmtpd.controller import Controller


class Inbox:
    """The messages an SMTP server the test runs has received, in order."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self.controller: Controller | None = None
        self.url = ""  # NOTIFY_SMTP_URL, once started

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self._lock:
            # the default policy decodes headers: a Portuguese subject reads as written
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def start(self) -> str:
        """Listen on a free local port; the URL for NOTIFY_SMTP_URL."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def find(self, to: str, subject: str) -> Message | None:
        return next((m for m in reversed(self.to(to)) if subject in m["Subject"]), None)

    def wait(self, to: str, subject: str, within: float = 10.0) -> Message:
        """The newest message to `to` whose subject has `subject` (blocking; for sync tests)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.find(to, subject)
            if found is not None:
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"no '{subject}' mail to {to}: {[m['Subject'] for m in self.messages]}"
        )


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def link_in(message: Message | str) -> str:
    """The one-time link a mail carries."""
    body = message if isinstance(message, str) else body_of(message)
    found = re.search(r"https?://\S+?token=[\w-]+", body)
    assert found, body
    return found.group(0)


def token_in(message: Message | str) -> str:
    return link_in(message).rsplit("token=", 1)[1]
