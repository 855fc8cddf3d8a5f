"""Fixtures of the notification tests: a real SMTP server on loopback, settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.config import Settings
from tests.notifications.smtp_sink import SmtpSink


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def notify_settings(settings: Settings, smtp: SmtpSink) -> Settings:
    """The test's settings, sending to the test's SMTP server."""
    return settings.model_copy(
        update={
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_sender": "dondoc <dondoc@tuyphuoc.gov.vn>",
            "smtp_timeout_seconds": 5,
            "public_url": "https://dondoc.tuyphuoc.gov.vn",
        }
    )
