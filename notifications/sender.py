"""SMTP delivery through aiosmtplib, behind a small interface: open, send messages, close.

One connection serves a whole batch. Failures are sorted into temporary (4xx replies, refused
or dropped connections, timeouts: try again later) and permanent (5xx replies: an administrator
must look), which is all the outbox needs to know.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from types import TracebackType
from typing import Protocol

import aiosmtplib

from service.config import Settings


class DeliveryError(Exception):
    """A message not delivered.

    `permanent`: retrying will not help; `unreachable`: the server could not be reached (or
    refused the login), so the rest of the batch would fail the same way.
    """

    def __init__(self, detail: str, *, permanent: bool, unreachable: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent
        self.unreachable = unreachable


class Mailer(Protocol):
    """What the dispatcher needs: an async context that sends messages."""

    async def __aenter__(self) -> Mailer: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def send(self, message: Outgoing) -> None: ...


class SmtpMailer:
    """An SMTP connection configured from Settings, opened on entry and reused for every send."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    def _client(self) -> aiosmtplib.SMTP:
        settings = self._settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user or None,
            password=password if settings.smtp_user else None,
            use_tls=settings.smtp_tls,
            # None would let aiosmtplib upgrade whenever the server offers it; be explicit.
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = self._client()
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as error:
            # A refused login is the deployment's problem, not the message's: keep the messages
            # and back off like for a server that is down, until an administrator fixes it.
            raise DeliveryError(_describe(error), permanent=False, unreachable=True) from error
        self._smtp = smtp
        return smtp

    async def __aenter__(self) -> SmtpMailer:
        await self._connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()

    async def send(self, message: Outgoing) -> None:
        smtp = self._smtp
        if smtp is None or not smtp.is_connected:
            smtp = await self._connect()
        try:
            await smtp.sendmail(message.sender, [message.recipient], message.data)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise DeliveryError(
                _describe(error), permanent=all(500 <= code < 600 for code in codes)
            ) from error
        except (
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPTimeoutError,
            OSError,
        ) as error:
            # The message may or may not have arrived; the next send reconnects.
            self._smtp = None
            smtp.close()
            raise DeliveryError(_describe(error), permanent=False) from error
        except aiosmtplib.SMTPResponseException as error:
            if error.code == 421:  # "service closing": the server hangs up after it
                self._smtp = None
                smtp.close()
            raise DeliveryError(_describe(error), permanent=500 <= error.code < 600) from error
        except aiosmtplib.SMTPException as error:
            raise DeliveryError(_describe(error), permanent=False) from error


def _describe(error: BaseException) -> str:
    """The error as an administrator reads it in the outbox (server replies are English)."""
    return f"{type(error).__name__}: {error}".strip()


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the wire: envelope addresses and the RFC 5322 bytes."""

    sender: str
    recipient: str
    data: bytes


def build_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str | None,
    message_id: str,
    now: datetime,
) -> Outgoing:
    """A MIME message: plain text, with the HTML as an alternative when there is one.

    Written by hand rather than with the `email` package's generator, for two reasons. The
    modern header folding drops the space between two words at some encoded-word boundaries,
    and Vietnamese subjects are long enough to hit it ("tổ chức" arrived as "tổchức"); the
    classic generator re-folds every header and scans every body for its boundary, which made
    it most of a sender's CPU time. Here the only non-ASCII headers are encoded once (RFC 2047,
    base64 words), bodies are base64 (RFC 2045), and the boundary contains "=_", which base64
    text cannot.
    """
    name, address = parseaddr(sender)
    boundary = f"=_dondoc_{hashlib.sha256(message_id.encode()).hexdigest()[:24]}"
    headers = [
        f"From: {formataddr((name, address), charset='utf-8')}",
        f"To: {recipient}",
        f"Subject: {Header(subject, 'utf-8', header_name='Subject').encode()}",
        f"Message-ID: {message_id}",
        f"Date: {format_datetime(now)}",
        # Reminders are automatic: no out-of-office replies, please (RFC 3834).
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
    ]
    if body_html:
        headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        parts = [_part("plain", body_text), _part("html", body_html)]
        body = "".join(f"--{boundary}\r\n{part}" for part in parts) + f"--{boundary}--\r\n"
    else:
        plain = _part("plain", body_text)
        header_block, _, body = plain.partition("\r\n\r\n")
        headers.extend(header_block.split("\r\n"))
    text = "\r\n".join(header.replace("\n", "\r\n") for header in headers)
    return Outgoing(sender=address, recipient=recipient, data=f"{text}\r\n\r\n{body}".encode())


def _part(subtype: str, content: str) -> str:
    encoded = base64.encodebytes(content.encode()).decode("ascii").replace("\n", "\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{encoded}"
    )
