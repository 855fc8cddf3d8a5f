"""The work the process tests put on dondoc: agencies with focal points and tasks, and focal
points sending status updates over HTTP the way a careful client does (the version it last saw;
on 409 read again and retry)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import StatusUpdate, Task, UserRole
from tests import factories
from tests.tasks import builders


@dataclass
class Agency:
    id: int
    focal_email: str
    headers: dict[str, str]
    task_ids: list[int]


@dataclass
class World:
    plan_id: int
    lead_headers: dict[str, str]
    agencies: list[Agency] = field(default_factory=list)


def build(session: Session, *, agencies: int, tasks_per_agency: int) -> World:
    """A plan led by the labour office, with `agencies` communes, each with a focal point (and
    an API token), tasks due tomorrow and a report due in two days, committed."""
    lead = builders.add_agency(session, "Phòng Lao động - Thương binh và Xã hội")
    plan = builders.add_plan(session, lead=lead)
    lead_user = factories.user(session, UserRole.LEAD_OFFICE, lead)
    # Due soon, so a scheduler's sweep has reminders to send as well.
    deadline = builders.add_deadline(session, plan, due_on=date.today() + timedelta(days=2))
    world = World(plan_id=plan.id, lead_headers=factories.auth_headers(session, lead_user))
    for number in range(agencies):
        agency = builders.add_agency(session, f"UBND xã Thử nghiệm {number}")
        focal = factories.user(
            session, UserRole.FOCAL_POINT, agency, email=f"dau-moi-{number}@xa.gov.vn"
        )
        tasks = [
            builders.add_task(session, plan, agency, due_on=date.today() + timedelta(days=1))
            for _ in range(tasks_per_agency)
        ]
        builders.add_obligation(session, deadline, agency)
        world.agencies.append(
            Agency(
                id=agency.id,
                focal_email=focal.email,
                headers=factories.auth_headers(session, focal),
                task_ids=[task.id for task in tasks],
            )
        )
    session.commit()
    return world


@dataclass
class Outcome:
    """What the clients saw, shared between their threads."""

    # (task id, narrative) of every update the service acknowledged with 201.
    acknowledged: list[tuple[int, str]] = field(default_factory=list)
    # Updates whose answer was lost (connection dropped, 5xx): written or not, nobody knows.
    uncertain: list[tuple[int, str]] = field(default_factory=list)
    conflicts: int = 0
    server_errors: int = 0
    by_server: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    acknowledged_at: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FocalPoint:
    """One client of one agency against one web process."""

    def __init__(self, base: str, agency: Agency, name: str, outcome: Outcome) -> None:
        self.base = base
        self.agency = agency
        self.name = name
        self.outcome = outcome
        self.client = self._connect()
        self.sent = 0

    def _connect(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=self.agency.headers, timeout=10)

    def close(self) -> None:
        self.client.close()

    def _reconnect(self) -> None:
        # uvicorn closes a connection after an unhandled error: start a fresh one.
        self.client.close()
        self.client = self._connect()

    def version(self, task_id: int, *, patient: bool) -> int | None:
        """The task's version now; with `patient`, retried while the service is unreachable."""
        while True:
            try:
                response = self.client.get(f"/api/tasks/{task_id}")
                if response.status_code == 200:
                    return int(response.json()["version"])
                if response.status_code < 500:
                    raise AssertionError(f"GET task {task_id}: {response.status_code}")
            except httpx.TransportError:
                pass
            if not patient:
                return None
            self._reconnect()
            time.sleep(0.2)

    def update(self, task_id: int, number: int, *, patient: bool = False) -> bool:
        """One update of `task_id`, retried until acknowledged. `patient`: an outage is waited
        out (each attempt gets a new narrative, so an answer lost to it stays recognisable)."""
        version = self.version(task_id, patient=True)
        for attempt in range(200):
            narrative = f"{self.name}#{number}.{attempt}"
            try:
                response = self.client.post(
                    f"/api/tasks/{task_id}/updates",
                    json={
                        "version": version,
                        "state": "dang_thuc_hien",
                        "progress": number * 7 % 100,
                        "narrative": narrative,
                    },
                )
            except httpx.TransportError:
                if not patient:
                    raise
                self._uncertain(task_id, narrative)
                self._reconnect()
                time.sleep(0.2)
                version = self.version(task_id, patient=True)
                continue
            if response.status_code == 201:
                with self.outcome.lock:
                    self.outcome.acknowledged.append((task_id, narrative))
                    self.outcome.acknowledged_at.append(time.monotonic())
                    self.outcome.by_server[self.base] += 1
                return True
            if response.status_code == 409:
                with self.outcome.lock:
                    self.outcome.conflicts += 1
            elif response.status_code >= 500:
                with self.outcome.lock:
                    self.outcome.server_errors += 1
                self._uncertain(task_id, narrative)
                self._reconnect()
                if patient:
                    time.sleep(0.2)
            else:
                with self.outcome.lock:
                    self.outcome.errors.append(
                        f"{self.base}: {response.status_code} {response.text[:200]}"
                    )
                return False
            version = self.version(task_id, patient=True)
        with self.outcome.lock:
            self.outcome.errors.append(f"{self.name}: task {task_id} never got through")
        return False

    def _uncertain(self, task_id: int, narrative: str) -> None:
        with self.outcome.lock:
            self.outcome.uncertain.append((task_id, narrative))


def check_history(session: Session, outcome: Outcome) -> None:
    """Every acknowledged update is in the history; nothing is there that no client sent; each
    task's version counts its updates, and its state is its last update's."""
    history = {(row.task_id, row.narrative) for row in session.scalars(select(StatusUpdate))}
    acknowledged = set(outcome.acknowledged)
    assert len(acknowledged) == len(outcome.acknowledged)
    lost = acknowledged - history
    assert not lost, f"{len(lost)} acknowledged update(s) missing: {sorted(lost)[:5]}"
    unknown = history - acknowledged - set(outcome.uncertain)
    assert not unknown, f"updates nobody sent: {sorted(unknown)[:5]}"
    for task in session.scalars(select(Task)):
        updates = list(
            session.scalars(
                select(StatusUpdate)
                .where(StatusUpdate.task_id == task.id)
                .order_by(StatusUpdate.id)
            )
        )
        assert task.version == 1 + len(updates), f"task {task.id}"
        if updates:
            assert (task.state, task.progress) == (updates[-1].state, updates[-1].progress)
