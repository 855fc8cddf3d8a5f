"""An iCalendar (RFC 5545) feed of deadlines: one all-day event per report or task due date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from service.i18n import t


@dataclass(frozen=True)
class Event:
    uid: str
    day: date
    summary: str


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with CRLF and a space, never inside a character."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    pieces: list[str] = []
    current = ""
    size = 0
    limit = 75
    for character in line:
        width = len(character.encode())
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, 74  # continuation lines start with a space
        current += character
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def calendar(events: list[Event], *, now: datetime, domain: str) -> str:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//dondoc//deadlines//VI",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(t('notify.calendar_name'))}",
        "X-WR-TIMEZONE:Asia/Ho_Chi_Minh",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}@{domain}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{event.day.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(event.day + timedelta(days=1)).strftime('%Y%m%d')}",
            f"SUMMARY:{_escape(event.summary)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(f"{_fold(line)}\r\n" for line in lines)
