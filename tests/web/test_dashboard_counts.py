"""The dashboard counts tasks in SQL by agency (service/web/repository.py) and the overdue list
narrows to tasks due before today: both must agree with the tasks domain's own rule,
`service.tasks.timeliness.timeliness()`, on every combination of state, due date and
completion date around today and the due-soon window."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.i18n import t
from service.models import Task, TaskState
from service.tasks.timeliness import Timeliness, timeliness
from tests.tasks.builders import World, add_agency, add_task
from tests.web.conftest import START, Browser

TODAY = START.date()  # 02/06/2025, a Monday, in Hanoi as in UTC at 03:00

_BAR = re.compile(
    r'<text x="0" y="\d+">([^<]+)</text>\s*<rect [^>]*></rect>\s*<text x="[\d.]+" y="\d+">(\d+)</text>'
)


def _every_case(session: Session, world: World, settings: Settings) -> list[Task]:
    """One task of a new agency for each state x due date x completion date that matters."""
    soon = settings.due_soon_days
    agency = add_agency(session, "Phòng Văn hóa và Thông tin")
    days: list[date | None] = [
        None,
        TODAY - timedelta(days=30),
        TODAY - timedelta(days=1),
        TODAY,
        TODAY + timedelta(days=soon),
        TODAY + timedelta(days=soon + 1),
        TODAY + timedelta(days=200),
    ]
    tasks = []
    for state in TaskState:
        for due_on in days:
            finished: list[date | None] = [None]
            if state == TaskState.HOAN_THANH:
                base = due_on or TODAY
                finished = [None, base - timedelta(days=3), base, base + timedelta(days=1)]
            for completed_on in finished:
                progress = {TaskState.HOAN_THANH: 100, TaskState.CHUA_TRIEN_KHAI: 0}.get(state, 40)
                tasks.append(
                    add_task(
                        session,
                        world.plan,
                        agency,
                        text=f"Việc kiểm thử số {len(tasks) + 1:03d}",
                        due_on=due_on,
                        state=state,
                        progress=progress,
                        completed_on=completed_on,
                    )
                )
    session.commit()
    return tasks


def _rule(task: Task, settings: Settings) -> Timeliness:
    return timeliness(
        state=task.state,
        due_on=task.due_on,
        completed_on=task.completed_on,
        today=TODAY,
        due_soon_days=settings.due_soon_days,
    )


def test_dashboard_counts_agree_with_the_timeliness_rule(
    browser: Browser, world: World, session: Session, settings: Settings
) -> None:
    cases = _every_case(session, world, settings)
    every_task = session.scalars(select(Task).where(Task.plan_id == world.plan.id)).all()
    expected = Counter(_rule(task, settings) for task in every_task)
    # Every timeliness occurs, so a count that went to the wrong one would show.
    assert set(expected) == set(Timeliness)

    page = browser.sign_in(world.users["lead"]).get(f"/plans/{world.plan.id}")

    assert page.status_code == 200
    bars = {label: int(count) for label, count in _BAR.findall(page.text)}
    assert bars == {t(f"timeliness.{value.value}"): expected[value] for value in Timeliness}
    mine = Counter(_rule(task, settings) for task in cases)
    done = mine[Timeliness.HOAN_THANH_DUNG_HAN] + mine[Timeliness.HOAN_THANH_QUA_HAN]
    overdue = mine[Timeliness.QUA_HAN]
    row = re.search(r"Phòng Văn hóa và Thông tin</label></th>(.*?)</tr>", page.text, re.S)
    assert row is not None
    numbers = re.findall(r'<td class="num">(?:<a [^>]*>)?(\d+)', row.group(1))
    assert numbers == [str(len(cases)), str(done), str(overdue)]
    average = round(sum(task.progress for task in cases) / len(cases))
    assert f'value="{average}"' in row.group(1)


def test_the_overdue_list_holds_exactly_the_overdue_tasks(
    browser: Browser, world: World, session: Session, settings: Settings
) -> None:
    cases = _every_case(session, world, settings)
    overdue = {task.text for task in cases if _rule(task, settings) == Timeliness.QUA_HAN}
    # Not done and due before today: due yesterday counts, due today does not.
    assert len(overdue) == 3 * 2
    agency_id = cases[0].agency_id
    browser.sign_in(world.users["lead"])

    page = browser.get(f"/plans/{world.plan.id}/overdue?agency_id={agency_id}").text

    listed = set(re.findall(r"Việc kiểm thử số \d{3}", page))
    assert listed == overdue
    assert t("web.overdue.count", count=len(overdue)) in page
    # Longest overdue first.
    first_month_ago = page.index((TODAY - timedelta(days=30)).strftime("%d/%m/%Y"))
    assert first_month_ago < page.index((TODAY - timedelta(days=1)).strftime("%d/%m/%Y"))
