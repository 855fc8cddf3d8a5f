"""The agency registry in the database: seeding from the registry file, and the admin API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.agencies import service as agency_service
from service.models import Agency, AgencyAlias, AgencyKind, AgencyLevel, AuditLog, UserRole
from service.plans.registry import default_registry
from tests.factories import auth_headers, user


def make_agency(session: Session, name: str, **fields: Any) -> Agency:
    """An agency with its name as an alias, as the service creates them."""
    row = Agency(
        name=name,
        level=fields.pop("level", AgencyLevel.DISTRICT),
        kind=fields.pop("kind", AgencyKind.DEPARTMENT),
        **fields,
    )
    session.add(row)
    session.flush()
    agency_service.remember_alias(session, agency=row, alias=name)
    return row


def headers_for(session: Session, role: UserRole, agency: Agency | None = None) -> dict[str, str]:
    person = user(session, role, agency)
    headers = auth_headers(session, person)
    session.commit()
    return headers


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return headers_for(session, UserRole.ADMIN)


def count(session: Session, model: type[Any]) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


# --- seeding from the registry ------------------------------------------------------------------


def test_sync_loads_every_registry_agency_with_its_spellings(session: Session) -> None:
    registry = default_registry()
    result = agency_service.sync_registry(session)
    session.commit()

    assert result.created == len(registry.agencies)
    assert count(session, Agency) == len(registry.agencies)
    communes = session.scalar(
        select(Agency).where(Agency.name == "Ủy ban nhân dân các xã, thị trấn")
    )
    assert communes is not None
    assert communes.is_group
    assert communes.level == AgencyLevel.COMMUNE
    assert communes.kind == AgencyKind.PEOPLE_COMMITTEE
    # A spelling from the registry resolves through the database alone.
    assert agency_service.resolve(session, "UỶ BAN NHÂN DÂN CÁC XÃ") == communes


def test_sync_twice_changes_nothing(session: Session) -> None:
    agency_service.sync_registry(session)
    session.commit()
    agencies, aliases = count(session, Agency), count(session, AgencyAlias)

    again = agency_service.sync_registry(session)
    session.commit()

    assert (again.created, again.updated, again.aliases_added) == (0, 0, 0)
    assert (count(session, Agency), count(session, AgencyAlias)) == (agencies, aliases)


def test_sync_keeps_what_an_administrator_set(session: Session) -> None:
    # An administrator's own agency already owns a spelling the registry also lists.
    own = make_agency(session, "Ủy ban nhân dân thị xã Hoài Nhơn")
    agency_service.remember_alias(session, agency=own, alias="Ủy ban nhân dân thị xã")
    first = agency_service.sync_registry(session)
    office = session.scalar(select(Agency).where(Agency.name == "Phòng Tư pháp"))
    assert office is not None
    office.head_email = "truongphong@tuphap.vn"
    office.is_active = False
    session.commit()

    again = agency_service.sync_registry(session)
    session.commit()

    assert "Ủy ban nhân dân thị xã" in first.conflicts
    assert agency_service.resolve(session, "Ủy ban nhân dân thị xã") == own
    session.refresh(office)
    assert office.head_email == "truongphong@tuphap.vn"
    assert not office.is_active
    assert (again.created, again.updated) == (0, 0)


def test_agencies_sync_command_is_idempotent(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DONDOC_DATABASE_URL": database_url, "DONDOC_DATA_DIR": str(tmp_path)}

    def sync() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "service", "agencies", "sync"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    first, second = sync(), sync()

    total = len(default_registry().agencies)
    assert first.returncode == 0, first.stderr
    assert f"Đã đồng bộ danh mục cơ quan: thêm {total} cơ quan, cập nhật 0" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "thêm 0 cơ quan, cập nhật 0, thêm 0 cách viết tên" in second.stdout


# --- reading ------------------------------------------------------------------------------------


def test_list_filters_by_level_kind_and_folded_name(client: TestClient, session: Session) -> None:
    agency_service.sync_registry(session)
    headers = headers_for(session, UserRole.FOCAL_POINT, make_agency(session, "Phòng Thử nghiệm"))

    # Other tone placement and case than the registry's "Ủy ban nhân dân các xã, thị trấn".
    found = client.get(
        "/api/agencies", params={"q": "UỶ BAN NHÂN DÂN CÁC XÃ, THỊ"}, headers=headers
    )
    assert found.status_code == 200
    assert "Ủy ban nhân dân các xã, thị trấn" in [a["name"] for a in found.json()["items"]]

    communes = client.get(
        "/api/agencies", params={"level": "commune", "is_group": True, "limit": 2}, headers=headers
    ).json()
    assert communes["limit"] == 2
    assert len(communes["items"]) == 2
    assert communes["total"] > 2
    assert all(a["level"] == "commune" and a["is_group"] for a in communes["items"])

    kinds = client.get("/api/agencies", params={"kind": "official"}, headers=headers).json()
    assert kinds["items"]
    assert {a["kind"] for a in kinds["items"]} == {"official"}


def test_list_refuses_an_unknown_level(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/agencies", params={"level": "galaxy"}, headers=admin)
    assert response.status_code == 422
    assert error_code(response) == "request.invalid"


def test_reading_needs_sign_in(client: TestClient) -> None:
    assert client.get("/api/agencies").status_code == 401


@pytest.mark.parametrize("path", ["/api/agencies/2147483648", "/api/agencies/0"])
def test_an_id_no_row_can_have_is_a_422(
    client: TestClient, admin: dict[str, str], path: str
) -> None:
    response = client.get(path, headers=admin)
    assert response.status_code == 422
    assert error_code(response) == "request.invalid"


def test_unknown_agency_is_404(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/agencies/999999", headers=admin)
    assert response.status_code == 404
    assert error_code(response) == "agency.not_found"


# --- writing ------------------------------------------------------------------------------------

NEW_AGENCY = {
    "name": "Ủy ban nhân dân xã Phước Hòa",
    "level": "commune",
    "kind": "people_committee",
    "head_email": " ChuTich@PhuocHoa.gov.vn ",
    "aliases": ["UBND xã Phước Hòa"],
}


def test_admin_creates_an_agency_whose_spellings_resolve(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    response = client.post("/api/agencies", json=NEW_AGENCY, headers=admin)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["head_email"] == "chutich@phuochoa.gov.vn"
    assert sorted(body["aliases"]) == ["UBND xã Phước Hòa", "Ủy ban nhân dân xã Phước Hòa"]
    session.expire_all()
    resolved = agency_service.resolve(session, "ubnd xã phước hoà")
    assert resolved is not None
    assert resolved.id == body["id"]
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "agency.create")).one()
    assert audit.entity_id == body["id"]


def test_a_spelling_already_taken_is_a_conflict(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    client.post("/api/agencies", json=NEW_AGENCY, headers=admin)

    # The same name with the other tone placement is the same spelling.
    again = client.post(
        "/api/agencies",
        json={**NEW_AGENCY, "name": "Uỷ ban nhân dân xã Phước Hoà", "aliases": []},
        headers=admin,
    )

    assert again.status_code == 409
    assert error_code(again) == "agency.alias_taken"
    assert count(session, Agency) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"level": "galaxy"}, "level"),
        ({"kind": "club"}, "kind"),
        ({"head_email": "not-an-email"}, "head_email"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_bad_fields_are_refused(
    client: TestClient, session: Session, admin: dict[str, str], change: dict[str, str], field: str
) -> None:
    response = client.post("/api/agencies", json={**NEW_AGENCY, **change}, headers=admin)
    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["error"]["details"]["fields"]]
    assert count(session, Agency) == 0


def test_an_unknown_parent_is_404(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    response = client.post("/api/agencies", json={**NEW_AGENCY, "parent_id": 4242}, headers=admin)
    assert response.status_code == 404
    assert error_code(response) == "agency.not_found"
    assert count(session, Agency) == 0


@pytest.mark.parametrize("role", [UserRole.LEAD_OFFICE, UserRole.FOCAL_POINT, UserRole.LEADERSHIP])
def test_only_an_administrator_changes_the_registry(
    client: TestClient, session: Session, role: UserRole
) -> None:
    office = make_agency(session, "Phòng Lao động - Thương binh và Xã hội")
    headers = headers_for(session, role, office)

    created = client.post("/api/agencies", json=NEW_AGENCY, headers=headers)
    updated = client.patch(f"/api/agencies/{office.id}", json={"is_active": False}, headers=headers)

    assert (created.status_code, updated.status_code) == (403, 403)
    session.refresh(office)
    assert office.is_active
    assert count(session, Agency) == 1


def test_update_aliases_email_parent_and_retirement(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    district = make_agency(
        session, "Ủy ban nhân dân huyện Tuy Phước", kind=AgencyKind.PEOPLE_COMMITTEE
    )
    office = make_agency(session, "Phòng Lao động - Thương binh và Xã hội huyện Tuy Phước")
    session.commit()

    response = client.patch(
        f"/api/agencies/{office.id}",
        json={
            "aliases": ["Phòng LĐTBXH Tuy Phước"],
            "head_email": "ldtbxh@tuyphuoc.vn",
            "parent_id": district.id,
            "is_active": False,
        },
        headers=admin,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["parent_id"] == district.id
    assert body["head_email"] == "ldtbxh@tuyphuoc.vn"
    assert not body["is_active"]
    assert sorted(body["aliases"]) == sorted(
        ["Phòng LĐTBXH Tuy Phước", "Phòng Lao động - Thương binh và Xã hội huyện Tuy Phước"]
    )
    # A retired agency no longer resolves: its old plans keep it, new ones must not get it.
    session.expire_all()
    assert agency_service.resolve(session, "Phòng LĐTBXH Tuy Phước") is None


def test_a_renamed_agency_keeps_its_old_name_as_an_alias(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    office = make_agency(session, "Phòng Lao động - Thương binh và Xã hội")
    session.commit()

    response = client.patch(
        f"/api/agencies/{office.id}", json={"name": "Phòng Nội vụ"}, headers=admin
    )

    assert response.status_code == 200, response.text
    assert sorted(response.json()["aliases"]) == [
        "Phòng Lao động - Thương binh và Xã hội",
        "Phòng Nội vụ",
    ]
    session.expire_all()
    assert agency_service.resolve(session, "Phòng Lao động - Thương binh và Xã hội") == office


def test_a_parent_cycle_is_refused(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    top = make_agency(session, "Ủy ban nhân dân tỉnh Bình Định")
    middle = make_agency(session, "Sở Nội vụ tỉnh Bình Định", parent_id=top.id)
    session.commit()

    response = client.patch(f"/api/agencies/{top.id}", json={"parent_id": middle.id}, headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "agency.parent_cycle"
    session.refresh(top)
    assert top.parent_id is None


def test_null_for_a_required_field_is_refused(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    office = make_agency(session, "Phòng Y tế")
    session.commit()
    response = client.patch(f"/api/agencies/{office.id}", json={"name": None}, headers=admin)
    assert response.status_code == 422
    assert error_code(response) == "request.invalid"


def test_updating_an_unknown_agency_is_404(client: TestClient, admin: dict[str, str]) -> None:
    response = client.patch("/api/agencies/31337", json={"is_active": False}, headers=admin)
    assert response.status_code == 404


# --- groups -------------------------------------------------------------------------------------


def test_group_membership(client: TestClient, session: Session, admin: dict[str, str]) -> None:
    group = make_agency(session, "Ủy ban nhân dân các xã, thị trấn", is_group=True)
    a = make_agency(session, "Ủy ban nhân dân xã Phước An", level=AgencyLevel.COMMUNE)
    b = make_agency(session, "Ủy ban nhân dân xã Phước Sơn", level=AgencyLevel.COMMUNE)
    session.commit()

    put = client.put(
        f"/api/agencies/{group.id}/members", json={"member_ids": [a.id]}, headers=admin
    )
    added = client.post(
        f"/api/agencies/{group.id}/members", json={"member_id": b.id}, headers=admin
    )
    removed = client.delete(f"/api/agencies/{group.id}/members/{a.id}", headers=admin)

    assert put.json()["member_ids"] == [a.id]
    assert sorted(added.json()["member_ids"]) == sorted([a.id, b.id])
    assert removed.json()["member_ids"] == [b.id]
    assert client.get(f"/api/agencies/{group.id}", headers=admin).json()["member_ids"] == [b.id]


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ("not_a_group", 422, "agency.not_group"),
        ("member_is_group", 422, "agency.member_is_group"),
        ("unknown_member", 404, "agency.members_not_found"),
    ],
)
def test_bad_membership_is_refused(
    client: TestClient,
    session: Session,
    admin: dict[str, str],
    setup: str,
    status: int,
    code: str,
) -> None:
    group = make_agency(session, "Các phòng, ban, ngành", is_group=setup != "not_a_group")
    other = make_agency(session, "Các tổ chức chính trị - xã hội", is_group=True)
    plain = make_agency(session, "Phòng Y tế")
    session.commit()
    member = {"not_a_group": plain.id, "member_is_group": other.id, "unknown_member": 999}[setup]

    response = client.put(
        f"/api/agencies/{group.id}/members", json={"member_ids": [member]}, headers=admin
    )

    assert response.status_code == status
    assert error_code(response) == code
    session.refresh(group)
    assert group.members == []


def test_sync_over_the_api_is_for_administrators(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    lead = headers_for(session, UserRole.LEAD_OFFICE, make_agency(session, "Phòng Y tế"))
    assert client.post("/api/agencies/sync", headers=lead).status_code == 403
    response = client.post("/api/agencies/sync", headers=admin)
    assert response.status_code == 200
    assert response.json()["created"] > 100


def test_every_user_can_read_one_agency(client: TestClient, session: Session) -> None:
    office = make_agency(session, "Phòng Giáo dục và Đào tạo")
    headers = headers_for(session, UserRole.LEADERSHIP)
    body = client.get(f"/api/agencies/{office.id}", headers=headers).json()
    assert body["name"] == "Phòng Giáo dục và Đào tạo"
    assert body["aliases"] == ["Phòng Giáo dục và Đào tạo"]
