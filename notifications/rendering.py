"""E-mail content: one Jinja2 template pair (.html, .txt) and one typed context per kind.

The templates hold the layout; every sentence comes from the message catalogue through `t`, so
the wording lives with the rest of the Vietnamese text. HTML is autoescaped; an undefined name
is an error (StrictUndefined), never an empty hole in an e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifications.policy import Phase
from service.i18n import t

# Stands for the one-click sign-in link in a stored e-mail. The sender swaps in a fresh link at
# send time, so no working sign-in token is ever kept in the outbox.
SIGN_IN_PLACEHOLDER = "DONDOC-SIGN-IN-LINK"

# A digest lists at most this many items per section; the rest are counted.
MAX_ITEMS_PER_SECTION = 50


def vn_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("notifications", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["t"] = t
    env.filters["vn_date"] = vn_date
    return env


ENVIRONMENT = _environment()


@dataclass(frozen=True)
class Item:
    """One deadline in an e-mail: a report an agency owes, or a task it must finish."""

    title: str  # "Báo cáo 6 tháng đầu năm 2024", or "Nhiệm vụ: …"
    plan: str  # "Kế hoạch 145/KH-UBND"
    agency: str
    due_on: date
    phase: Phase
    # Working days to the deadline; negative: overdue by that many.
    working_days_left: int
    # Another agency's item, told to this recipient to follow up (head, lead office, leaders).
    escalated: bool = False
    # The lead office returned the report, with this comment ("" when it gave none).
    returned_comment: str | None = None
    # Today is the due date itself (not the last working day before a weekend deadline).
    on_due_day: bool = False

    @property
    def status(self) -> str:
        if self.phase == Phase.OVERDUE:
            return t("notify.status_overdue", days=-self.working_days_left)
        if self.working_days_left > 0:
            return t("notify.status_left", days=self.working_days_left)
        if self.on_due_day:
            return t("notify.status_today")
        return t("notify.status_last_day")

    @property
    def line(self) -> str:
        key = "notify.item_report_agency" if self.escalated else "notify.item_report"
        return t(
            key,
            agency=self.agency,
            title=self.title,
            plan=self.plan,
            due=vn_date(self.due_on),
            status=self.status,
        )

    @property
    def returned_line(self) -> str | None:
        if self.returned_comment is None:
            return None
        if self.returned_comment.strip():
            return t("notify.item_returned", comment=self.returned_comment.strip())
        return t("notify.item_returned_no_comment")

    def subject(self) -> str:
        tag = t("notify.tag_overdue" if self.phase == Phase.OVERDUE else "notify.tag_reminder")
        key = "notify.subject_item_escalated" if self.escalated else "notify.subject_item"
        return t(
            key,
            tag=tag,
            agency=self.agency,
            title=self.title,
            plan=self.plan,
            due=vn_date(self.due_on),
            status=self.status,
        )


@dataclass(frozen=True)
class Section:
    title: str
    items: list[Item]
    more: int = 0


@dataclass(frozen=True)
class DigestContext:
    """The daily digest: everything due, overdue or escalated to one recipient today."""

    recipient_name: str | None
    day: date
    items: list[Item]
    sign_in_link: str | None
    link_hours: int
    public_url: str
    sections: list[Section] = field(init=False)

    def __post_init__(self) -> None:
        groups: list[tuple[str, list[Item]]] = [
            ("notify.section_due_today", []),
            ("notify.section_due_soon", []),
            ("notify.section_overdue", []),
            ("notify.section_escalated", []),
        ]
        for item in sorted(self.items, key=lambda i: (i.due_on, i.agency, i.plan, i.title)):
            if item.escalated:
                groups[3][1].append(item)
            elif item.phase == Phase.OVERDUE:
                groups[2][1].append(item)
            elif item.working_days_left <= 0:
                groups[0][1].append(item)
            else:
                groups[1][1].append(item)
        sections = [
            Section(
                t(key),
                items[:MAX_ITEMS_PER_SECTION],
                max(len(items) - MAX_ITEMS_PER_SECTION, 0),
            )
            for key, items in groups
            if items
        ]
        object.__setattr__(self, "sections", sections)

    def subject(self) -> str:
        if len(self.items) == 1:
            return self.items[0].subject()
        overdue = sum(1 for item in self.items if item.phase == Phase.OVERDUE)
        key = "notify.subject_digest_overdue" if overdue else "notify.subject_digest"
        return t(key, count=len(self.items), overdue=overdue, day=vn_date(self.day))


@dataclass(frozen=True)
class UrgeContext:
    """The lead office's "đôn đốc": a reminder sent now to one agency about one plan."""

    recipient_name: str | None
    sender_name: str
    sender_agency: str | None
    agency: str
    plan: str
    message: str | None
    items: list[Item]
    sign_in_link: str | None
    link_hours: int
    public_url: str

    def subject(self) -> str:
        if len(self.items) == 1:
            item = self.items[0]
            return t(
                "notify.subject_urge_item",
                title=item.title,
                plan=item.plan,
                due=vn_date(item.due_on),
                status=item.status,
            )
        return t("notify.subject_urge", agency=self.agency, plan=self.plan)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(template: str, context: DigestContext | UrgeContext) -> Rendered:
    """The e-mail `template` (templates/<template>.txt and .html) for `context`."""
    variables: dict[str, Any] = {"c": context}
    return Rendered(
        subject=context.subject(),
        text=ENVIRONMENT.get_template(f"{template}.txt").render(variables),
        html=ENVIRONMENT.get_template(f"{template}.html").render(variables),
    )


def plan_label(number: str | None) -> str:
    return t("notify.plan_number", number=number) if number else t("notify.plan_untitled")


def task_label(text: str, *, limit: int = 90) -> str:
    """A task's text, shortened on a word boundary to fit in a subject line."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
    return t("notify.task_title", text=text)
