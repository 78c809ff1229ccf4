"""SMS through an HTTP gateway that takes `POST {to, body}`."""

from __future__ import annotations

import logging

import httpx

from movievote.adapters.delivery import DeliveryError, Message, Recipient

logger = logging.getLogger("movievote.notifications")


class SmsNotifier:
    """SMS through an HTTP gateway (POST {to, body}) when configured, else to the log."""

    channel = "sms"

    def __init__(self, *, gateway_url: str, http: httpx.AsyncClient | None = None) -> None:
        self.gateway_url = gateway_url
        self.http = http

    async def send(self, *, user: Recipient, message: Message) -> None:
        if not user.phone:
            raise DeliveryError("no phone number on the account", permanent=True)
        text = f"{message.subject}: {message.body}"[:320]
        if not self.gateway_url:
            logger.info("sms (simulated) to %s: %s", user.phone, text)
            return
        try:
            if self.http is not None:
                response = await self.http.post(
                    self.gateway_url, json={"to": user.phone, "body": text}
                )
            else:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.post(
                        self.gateway_url, json={"to": user.phone, "body": text}
                    )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise DeliveryError(
                f"SMS gateway answered {response.status_code}",
                permanent=400 <= response.status_code < 500 and response.status_code != 429,
            )
        logger.info("sms sent to %s via gateway", user.phone)
