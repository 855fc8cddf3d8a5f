"""Agencies for the commune-level units of a province, from the official list of administrative
units: `POST /api/agencies/communes` and `dondoc agencies communes`, on SQLite and PostgreSQL,
then a plan whose "Ủy ban nhân dân các xã" group fans out to them."""

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
from vietnam_provinces import Province, Ward

from service.agencies import divisions
from service.agencies import service as agency_service
from service.models import (
    Agency,
    AgencyAlias,
    AgencyGroupMember,
    AgencyKind,
    AgencyLevel,
    AuditLog,
    ReportObligation,
    Task,
    UserRole,
)
from tests.factories import auth_headers, user
from tests.plans.test_import_review import COMMUNES as DISTRICT_COMMUNES
from tests.plans.test_import_review import Draft

PROVINCE = "Quảng Ninh"  # phường, xã and two đặc khu
DEFAULT_GROUP = "Ủy ban nhân dân các xã, phường, thị trấn"
URL = "/api/agencies/communes"


def official_units(province: str = PROVINCE) -> list[str]:
    """The unit names straight from the package, to compare with what dondoc made of them."""
    code = next(p.code for p in Province.iter_all() if p.name == province)
    return [ward.name for ward in Ward.iter_by_province(code)]


def committee(unit_name: str) -> str:
    word, _, place = unit_name.partition(" ")
    if word == "Đặc":
        word, place = "đặc khu", place.removeprefix("khu ")
    return f"Ủy ban nhân dân {word.lower()} {place}"


def named(session: Session, name: str) -> Agency:
    row = session.scalar(select(Agency).where(Agency.name == name))
    assert row is not None, name
    return row


def counts(session: Session) -> tuple[int, int, int, int]:
    session.expire_all()
    result = tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Agency, AgencyAlias, AgencyGroupMember, AuditLog)
    )
    session.rollback()
    return result  # type: ignore[return-value]


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    """An administrator, on a registry loaded as `dondoc agencies sync` would."""
    agency_service.sync_registry(session)
    headers = auth_headers(session, user(session, UserRole.ADMIN))
    session.commit()
    return headers


def run(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post(URL, json={"province": PROVINCE, **body}, headers=headers)


# --- finding the province in the official list --------------------------------------------------


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("Quảng Ninh", "Quảng Ninh"),
        ("quang ninh", "Quảng Ninh"),
        ("Tỉnh Quảng Ninh", "Quảng Ninh"),
        ("  QUẢNG NINH ", "Quảng Ninh"),
        ("quang_ninh", "Quảng Ninh"),
        ("22", "Quảng Ninh"),
        ("Hà Nội", "Thành phố Hà Nội"),
        ("TP. Hà Nội", "Thành phố Hà Nội"),
        ("thanh pho ha noi", "Thành phố Hà Nội"),
        ("01", "Thành phố Hà Nội"),
        ("Thành phố Hồ Chí Minh", "Thành phố Hồ Chí Minh"),
        ("Đắk Lắk", "Đắk Lắk"),
        ("dak lak", "Đắk Lắk"),
    ],
)
def test_a_province_is_found_however_it_is_written(query: str, name: str) -> None:
    assert divisions.find_province(query).name == name


def test_every_province_and_every_unit_of_the_package_is_named() -> None:
    provinces = list(Province.iter_all())
    assert len(provinces) == 34
    total = 0
    for province in provinces:
        found = divisions.find_province(province.name)
        assert found.code == int(province.code)
        wards = list(Ward.iter_by_province(province.code))
        # As listed, spaces aside: a few names have two ("Xã  Xuân Giang").
        assert [u.name for u in found.units] == [" ".join(w.name.split()) for w in wards]
        for unit in found.units:
            assert unit.word in ("xã", "phường", "đặc khu")
            assert unit.name == f"{unit.word.capitalize()} {unit.place}"
            assert unit.committee == f"Ủy ban nhân dân {unit.word} {unit.place}"
        total += len(wards)
    assert total == sum(1 for _ in Ward.iter_all())


@pytest.mark.parametrize(
    ("query", "suggested"),
    [
        ("Quảng Nin", "Quảng Ninh"),
        ("Ha Noii", "Thành phố Hà Nội"),
        ("Hải Phòg", "Thành phố Hải Phòng"),
        # Not codes of the list: other digits, too long, no such code.
        ("²²", None),
        ("0022", None),
        ("99", None),
    ],
)
def test_an_unknown_province_comes_with_close_names(query: str, suggested: str | None) -> None:
    with pytest.raises(divisions.UnknownProvince) as caught:
        divisions.find_province(query)
    if suggested is None:
        assert caught.value.suggestions == []
    else:
        assert suggested in caught.value.suggestions


def test_a_place_two_units_share_is_an_alias_of_neither() -> None:
    commune = divisions.Unit(1, "Xã Tân Hòa", "xã", "Tân Hòa")
    ward = divisions.Unit(2, "Phường Tân Hòa", "phường", "Tân Hòa")
    other = divisions.Unit(3, "Xã Tân Lập", "xã", "Tân Lập")

    ambiguous = divisions.ambiguous_keys((commune, ward, other))

    assert ambiguous == {"uỷ ban nhân dân tân hoà", "ubnd tân hoà"}


# --- over the API -------------------------------------------------------------------------------


def test_a_provinces_communes_become_agencies_and_members_of_the_group(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    units = official_units()

    response = run(client, admin)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["province"] == PROVINCE
    assert body["units"] == len(units) == 54
    assert body["created"] == [committee(name) for name in units]
    assert body["members_added"] == len(units)
    assert body["group"] == DEFAULT_GROUP
    assert body["dry_run"] is False
    assert (body["conflicts"], body["updated"], body["other_members"]) == ([], [], [])
    session.expire_all()
    group = named(session, DEFAULT_GROUP)
    parent = named(session, "Ủy ban nhân dân tỉnh")
    assert body["parent_id"] == parent.id
    assert sorted(m.name for m in group.members) == sorted(committee(n) for n in units)
    for member in group.members:
        assert (member.level, member.kind) == (AgencyLevel.COMMUNE, AgencyKind.PEOPLE_COMMITTEE)
        assert member.parent_id == parent.id
        assert member.short_name == member.name.replace("Ủy ban nhân dân", "UBND")
        assert (member.is_active, member.is_group) == (True, False)
    # How plans write a unit's committee: with or without the unit word, in full or "UBND", or
    # the unit's own name; case and tone placement do not matter.
    van_don = named(session, "Ủy ban nhân dân đặc khu Vân Đồn")
    for spelling in (
        "UBND đặc khu Vân Đồn",
        "Ủy ban nhân dân Vân Đồn",
        "UBND Vân Đồn",
        "Đặc khu Vân Đồn",
        "ỦY BAN NHÂN DÂN ĐẶC KHU VÂN ĐỒN",
    ):
        assert agency_service.resolve(session, spelling) == van_don, spelling
    assert agency_service.resolve(session, "UBND phường Hạ Long") == named(
        session, "Ủy ban nhân dân phường Hạ Long"
    )
    # The plan's "UBND các xã, phường" now fans out to every unit.
    plan_group = agency_service.resolve(session, "UBND các xã, phường")
    assert plan_group == group
    assert len(agency_service.active_members(session, group_ids=[group.id])[group.id]) == 54
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "agency.communes")).all()
    assert len(audit) == 1
    assert audit[0].detail["province"] == PROVINCE
    assert len(audit[0].detail["created"]) == 54


def test_running_it_twice_changes_nothing(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    assert run(client, admin).status_code == 200
    before = counts(session)

    again = run(client, admin)

    assert again.status_code == 200
    body = again.json()
    assert (body["created"], body["updated"], body["aliases_added"], body["members_added"]) == (
        [],
        [],
        0,
        0,
    )
    assert body["conflicts"] == []
    assert counts(session) == before


def test_a_dry_run_says_what_a_run_would_do_and_writes_nothing(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    before = counts(session)

    dry = run(client, admin, dry_run=True)

    assert dry.status_code == 200, dry.text
    assert counts(session) == before
    real = run(client, admin)
    assert {**dry.json(), "dry_run": False} == real.json()
    assert len(real.json()["created"]) == 54


def test_the_provinces_own_committee_is_the_parent_when_the_registry_has_it(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    created = client.post(
        "/api/agencies",
        json={"name": "UBND tỉnh Quảng Ninh", "level": "province", "kind": "people_committee"},
        headers=admin,
    )
    assert created.status_code == 201, created.text

    body = run(client, admin).json()

    assert (body["parent_id"], body["parent"]) == (created.json()["id"], "UBND tỉnh Quảng Ninh")
    session.expire_all()
    assert named(session, "Ủy ban nhân dân đặc khu Cô Tô").parent_id == created.json()["id"]


def test_agencies_already_there_are_reused_and_what_the_administrator_set_stays(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    # Typed by hand before: a short name, the wrong level and kind, an e-mail.
    by_hand = Agency(
        name="UBND phường Hạ Long",
        level=AgencyLevel.DISTRICT,
        kind=AgencyKind.OTHER,
        head_email="chutich@halong.vn",
    )
    retired = Agency(
        name="Ủy ban nhân dân phường Bãi Cháy",
        level=AgencyLevel.COMMUNE,
        kind=AgencyKind.PEOPLE_COMMITTEE,
        is_active=False,
    )
    old_member = Agency(
        name="Ủy ban nhân dân xã Cũ", level=AgencyLevel.COMMUNE, kind=AgencyKind.PEOPLE_COMMITTEE
    )
    centre = Agency(name="Trung tâm Hà Tu", level=AgencyLevel.COMMUNE, kind=AgencyKind.OTHER)
    session.add_all([by_hand, retired, old_member, centre])
    session.flush()
    for row in (by_hand, retired, old_member, centre):
        agency_service.remember_alias(session, agency=row, alias=row.name)
    # A spelling of one unit already belongs to another body.
    agency_service.remember_alias(session, agency=centre, alias="Phường Hà Tu")
    named(session, DEFAULT_GROUP).members = [old_member]
    session.commit()
    agencies_before = counts(session)[0]

    body = run(client, admin).json()

    assert len(body["created"]) == 52
    assert "UBND phường Hạ Long" not in body["created"]
    assert sorted(body["updated"]) == ["UBND phường Hạ Long", "Ủy ban nhân dân phường Bãi Cháy"]
    assert body["inactive"] == ["Ủy ban nhân dân phường Bãi Cháy"]
    assert body["other_members"] == ["Ủy ban nhân dân xã Cũ"]
    assert body["conflicts"] == ["Phường Hà Tu"]
    assert body["members_added"] == 54
    assert counts(session)[0] == agencies_before + 52
    session.expire_all()
    reused = session.get(Agency, by_hand.id)
    assert reused is not None
    assert (reused.name, reused.head_email) == ("UBND phường Hạ Long", "chutich@halong.vn")
    assert (reused.level, reused.kind) == (AgencyLevel.COMMUNE, AgencyKind.PEOPLE_COMMITTEE)
    assert agency_service.resolve(session, "Ủy ban nhân dân phường Hạ Long") == reused
    still_retired = session.get(Agency, retired.id)
    assert still_retired is not None
    assert not still_retired.is_active
    assert agency_service.resolve(session, "Phường Hà Tu") == session.get(Agency, centre.id)
    group = named(session, DEFAULT_GROUP)
    assert len(group.members) == 55
    # The retired committee is a member, but no task will fan out to it.
    assert len(agency_service.active_members(session, group_ids=[group.id])[group.id]) == 54


def test_another_group_can_be_named(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    body = run(client, admin, group="UBND các xã, thị trấn").json()

    assert body["group"] == DISTRICT_COMMUNES
    session.expire_all()
    assert len(named(session, DISTRICT_COMMUNES).members) == 54
    assert named(session, DEFAULT_GROUP).members == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"province": "Quảng Nin"}, 422, "agency_units.unknown_province"),
        ({"province": "Bình Định"}, 422, "agency_units.unknown_province"),
        ({"group": "Ủy ban nhân dân các ấp"}, 404, "agency_units.group_not_found"),
        ({"group": "Phòng Y tế"}, 422, "agency.not_group"),
        ({"province": ""}, 422, "request.invalid"),
        ({"province": "x" * 101}, 422, "request.invalid"),
        ({"dry_run": "maybe"}, 422, "request.invalid"),
        ({"districts": True}, 422, "request.invalid"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    client: TestClient,
    session: Session,
    admin: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = counts(session)

    response = client.post(URL, json={"province": PROVINCE, **body}, headers=admin)

    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert counts(session) == before


def test_a_group_named_like_a_unit_stops_the_run_before_anything_is_written(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    odd = Agency(
        name="Ủy ban nhân dân phường Hạ Long",
        level=AgencyLevel.COMMUNE,
        kind=AgencyKind.PEOPLE_COMMITTEE,
        is_group=True,
    )
    session.add(odd)
    session.flush()
    agency_service.remember_alias(session, agency=odd, alias=odd.name)
    session.commit()
    before = counts(session)

    response = run(client, admin)

    assert response.status_code == 409
    assert error_code(response) == "agency_units.unit_is_group"
    assert "Ủy ban nhân dân phường Hạ Long" in response.json()["error"]["message"]
    assert counts(session) == before


def test_an_unknown_province_names_the_close_ones(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(URL, json={"province": "Quảng Nin"}, headers=admin)

    error = response.json()["error"]
    assert error["message"].startswith('Không có tỉnh, thành phố "Quảng Nin"')
    assert "Tên gần giống: “Quảng Ninh”" in error["message"]
    assert "Quảng Ninh" in error["details"]["suggestions"]


def test_only_an_administrator_may_do_it(client: TestClient, session: Session) -> None:
    agency_service.sync_registry(session)
    office = named(session, "Phòng Y tế")
    headers = auth_headers(session, user(session, UserRole.LEAD_OFFICE, office))
    session.commit()
    before = counts(session)

    response = run(client, headers)

    assert response.status_code == 403
    assert counts(session) == before


# --- a plan's group fans out to the communes ----------------------------------------------------


def test_a_plans_group_of_communes_fans_out_to_the_province_communes(
    client: TestClient, session: Session
) -> None:
    """The Thanh Liêm plan gives 4 tasks to "UBND các xã, thị trấn": with the communes of a
    province as the group's members, activation gives those 4 tasks to each of them."""
    draft = Draft(client, session)
    assert draft.review()["empty_groups"] == [DISTRICT_COMMUNES]

    made = run(client, draft.admin, group=DISTRICT_COMMUNES)
    assert made.status_code == 200, made.text

    review = draft.review()
    assert review["empty_groups"] == []
    member = next(
        m
        for a in review["assignments"]
        for m in a["members"]
        if m["agency_name"] == DISTRICT_COMMUNES
    )
    assert member["member_count"] == 54
    activated = draft.call("POST", "/activate")
    assert activated.status_code == 200, activated.text
    session.expire_all()
    communes = named(session, DISTRICT_COMMUNES).members
    assert len(communes) == 54
    for commune in communes:
        tasks = session.scalars(select(Task).where(Task.agency_id == commune.id)).all()
        assert len(tasks) == 4, commune.name
        obligations = session.scalars(
            select(ReportObligation).where(ReportObligation.agency_id == commune.id)
        ).all()
        assert len(obligations) == 2


# --- the command line ---------------------------------------------------------------------------


def dondoc(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DONDOC_DATABASE_URL": database_url,
        "DONDOC_DATA_DIR": str(tmp_path / "data"),
        "DONDOC_ENVIRONMENT": "test",
    }
    return subprocess.run(
        [sys.executable, "-m", "service", "agencies", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_the_command_dry_run_then_run_then_nothing_to_do(
    database_url: str, session: Session, tmp_path: Path
) -> None:
    assert dondoc(database_url, tmp_path, "sync").returncode == 0
    before = counts(session)

    dry = dondoc(database_url, tmp_path, "communes", "quang ninh", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    assert "Quảng Ninh: 54 đơn vị hành chính cấp xã" in dry.stdout
    assert "Chạy thử, chưa ghi gì" in dry.stdout
    assert "tạo 54 cơ quan mới" in dry.stdout
    assert "Ủy ban nhân dân đặc khu Vân Đồn" in dry.stdout
    assert counts(session) == before

    first = dondoc(database_url, tmp_path, "communes", "Quảng Ninh")

    assert first.returncode == 0, first.stderr
    assert "Đã ghi:" in first.stdout
    assert "tạo 54 cơ quan mới" in first.stdout
    assert f'thêm 54 thành viên vào nhóm "{DEFAULT_GROUP}"' in first.stdout
    assert "Cơ quan cấp trên của các cơ quan mới: Ủy ban nhân dân tỉnh." in first.stdout
    after_first = counts(session)
    assert after_first[0] == before[0] + 54

    second = dondoc(database_url, tmp_path, "communes", "Tỉnh Quảng Ninh")

    assert second.returncode == 0, second.stderr
    assert "Không có gì thay đổi" in second.stdout
    assert counts(session) == after_first


def test_the_command_refuses_an_unknown_province_with_exit_2(
    database_url: str, session: Session, tmp_path: Path
) -> None:
    assert dondoc(database_url, tmp_path, "sync").returncode == 0
    before = counts(session)

    refused = dondoc(database_url, tmp_path, "communes", "Quang Nin")

    assert refused.returncode == 2
    assert refused.stdout == ""
    assert 'Không có tỉnh, thành phố "Quang Nin"' in refused.stderr
    assert "“Quảng Ninh”" in refused.stderr
    assert "Chưa ghi gì" in refused.stderr
    assert counts(session) == before


def test_the_command_without_a_loaded_registry_says_what_to_do(
    database_url: str, session: Session, tmp_path: Path
) -> None:
    refused = dondoc(database_url, tmp_path, "communes", PROVINCE)

    assert refused.returncode == 2
    assert "dondoc agencies sync" in refused.stderr
    assert counts(session) == (0, 0, 0, 0)
