"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives, for tests and benches.

It can be slowed down (to kill a sender mid-batch), told to refuse recipients with a given reply
(4xx or 5xx), stopped and started again on the same port (an outage).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cached_property
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True, eq=False)
class Received:
    recipients: tuple[str, ...]
    raw: bytes

    @cached_property
    def message(self) -> EmailMessage:
        # Parsed on first use: the server itself stays fast enough for the benchmark.
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message

    @property
    def to(self) -> str:
        return self.recipients[0]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())

    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.sink.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self.sink.delay:
            # Blocking on purpose: the slow server the SIGKILL test needs.
            time.sleep(self.sink.delay)
        with self.sink.lock:
            self.sink.received.append(Received(tuple(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    def __init__(self, port: int | None = None, *, delay: float = 0.0) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.delay = delay
        self.refuse: dict[str, str] = {}
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def take(self) -> list[Received]:
        """What arrived since the last call."""
        with self.lock:
            taken, self.received = self.received, []
        return taken


if __name__ == "__main__":
    # A sink in a process of its own (bench/dispatch.py): python -m tests.notifications.smtp_sink PORT
    import sys

    sink = SmtpSink(int(sys.argv[1])).start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sink.stop()
