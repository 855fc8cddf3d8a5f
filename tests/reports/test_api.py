"""`GET /api/plans/{plan_id}/report`: who may download it, in which formats, and bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from service.clock import FixedClock, get_clock
from service.models import Plan, PlanStatus, UserRole
from tests import factories
from tests.reports import world


@pytest.fixture
def api(client: TestClient) -> Iterator[TestClient]:
    """The app on 20/06/2021, 08:00 in Hanoi."""
    client.app.dependency_overrides[get_clock] = lambda: FixedClock(world.NOW)  # type: ignore[attr-defined]
    yield client
    client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


def url(scenario: world.Scenario, **query: object) -> str:
    params = "&".join(f"{key}={value}" for key, value in query.items())
    return f"/api/plans/{scenario.plan.id}/report" + (f"?{params}" if params else "")


def test_lead_office_downloads_every_format(
    api: TestClient, session: Session, scenario: world.Scenario
) -> None:
    headers = factories.auth_headers(session, scenario.lead_user)
    session.commit()
    deadline = scenario.semiannual.id

    docx = api.get(url(scenario, deadline_id=deadline, format="docx"), headers=headers)
    assert docx.status_code == 200
    assert docx.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert docx.headers["content-disposition"] == (
        f'attachment; filename="bao-cao-ke-hoach-{scenario.plan.id}-2021-06-10.docx"'
    )
    document = Document(io.BytesIO(docx.content))
    assert "(6 tháng đầu năm 2021)" in [p.text for p in document.paragraphs]

    xlsx = api.get(url(scenario, deadline_id=deadline, format="xlsx"), headers=headers)
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book["Nhiệm vụ"].max_row == 35

    text = api.get(url(scenario, deadline_id=deadline, format="csv"), headers=headers)
    assert text.status_code == 200
    assert text.headers["content-type"] == "text/csv; charset=utf-8"
    assert text.content.startswith(b"\xef\xbb\xbf")
    assert len(list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))) == 35

    page = api.get(url(scenario, deadline_id=deadline), headers=headers)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "content-disposition" not in page.headers
    assert "Báo cáo 6 tháng đầu năm 2021 (hạn gửi ngày 10/06/2021)" in page.text


def test_as_of_today_takes_the_latest_deadline_due(
    api: TestClient, session: Session, scenario: world.Scenario
) -> None:
    headers = factories.auth_headers(session, scenario.lead_user)
    session.commit()

    page = api.get(url(scenario, format="html"), headers=headers)

    assert page.status_code == 200
    assert "<p>(tính đến ngày 20/06/2021)</p>" in page.text
    # The latest round whose due day has passed: the six-month report of 10/06.
    assert "Báo cáo 6 tháng đầu năm 2021 (hạn gửi ngày 10/06/2021)" in page.text


@pytest.mark.parametrize("role", [UserRole.ADMIN, UserRole.LEADERSHIP])
def test_admin_and_leadership_may_read(
    api: TestClient, session: Session, scenario: world.Scenario, role: UserRole
) -> None:
    person = scenario.admin if role == UserRole.ADMIN else scenario.leadership
    headers = factories.auth_headers(session, person)
    session.commit()

    response = api.get(url(scenario, format="csv"), headers=headers)

    assert response.status_code == 200


def test_focal_point_of_the_plan_is_refused(
    api: TestClient, session: Session, scenario: world.Scenario
) -> None:
    headers = factories.auth_headers(session, scenario.focal["Phòng Y tế"])
    session.commit()

    response = api.get(url(scenario, format="docx"), headers=headers)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "consolidated.forbidden"
    assert "cơ quan thường trực" in response.json()["error"]["message"]


def test_another_office_does_not_see_the_plan(
    api: TestClient, session: Session, scenario: world.Scenario
) -> None:
    other = world.agency(session, "Phòng Lao động - Thương binh và Xã hội huyện Khác")
    headers = factories.auth_headers(session, factories.user(session, UserRole.LEAD_OFFICE, other))
    session.commit()

    response = api.get(url(scenario, format="xlsx"), headers=headers)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "consolidated.plan_not_found"


def test_anonymous_is_asked_to_sign_in(api: TestClient, scenario: world.Scenario) -> None:
    response = api.get(url(scenario, format="csv"))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"format": "pdf"}, 422, "request.invalid"),
        ({"deadline_id": "hom-nay"}, 422, "request.invalid"),
        ({"deadline_id": 0}, 422, "request.invalid"),
        ({"deadline_id": 2**31}, 422, "request.invalid"),
        ({"deadline_id": 987654}, 404, "consolidated.deadline_not_found"),
    ],
)
def test_bad_query(
    api: TestClient,
    session: Session,
    scenario: world.Scenario,
    query: dict[str, object],
    status: int,
    code: str,
) -> None:
    headers = factories.auth_headers(session, scenario.lead_user)
    session.commit()

    response = api.get(url(scenario, **query), headers=headers)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_deadline_of_another_plan_is_not_found(
    api: TestClient, session: Session, scenario: world.Scenario
) -> None:
    _, deadlines = world.synthetic_plan(session, agencies=1, tasks_per_agency=1, lead=scenario.lead)
    headers = factories.auth_headers(session, scenario.lead_user)
    session.commit()

    response = api.get(url(scenario, deadline_id=deadlines[0].id), headers=headers)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "consolidated.deadline_not_found"


def test_unknown_plan(api: TestClient, session: Session, scenario: world.Scenario) -> None:
    headers = factories.auth_headers(session, scenario.admin)
    session.commit()

    unknown = api.get("/api/plans/987654/report", headers=headers)
    huge = api.get(f"/api/plans/{2**63}/report", headers=headers)

    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "consolidated.plan_not_found"
    assert huge.status_code == 422


def test_draft_plan_has_no_report(
    api: TestClient, session: Session, scenario: world.Scenario
) -> None:
    plan = session.get(Plan, scenario.plan.id)
    assert plan is not None
    plan.status = PlanStatus.DRAFT
    headers = factories.auth_headers(session, scenario.lead_user)
    session.commit()

    response = api.get(url(scenario), headers=headers)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "consolidated.plan_draft"
