"""The CSV export, read back with the csv module and checked against the database."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from service.config import Settings
from service.reports.schemas import ConsolidatedReport, ReportFormat
from tests.reports import world
from tests.reports.conftest import database_tasks, rendered

STATE_LABELS = {
    "chua_trien_khai": "Chưa triển khai",
    "dang_thuc_hien": "Đang thực hiện",
    "hoan_thanh": "Hoàn thành",
    "gap_vuong_mac": "Gặp vướng mắc",
}
TIMELINESS_LABELS = {
    "hoan_thanh_dung_han": "Hoàn thành đúng hạn",
    "hoan_thanh_qua_han": "Hoàn thành quá hạn",
    "dang_thuc_hien_trong_han": "Đang thực hiện trong hạn",
    "sap_den_han": "Sắp đến hạn",
    "qua_han_chua_hoan_thanh": "Quá hạn chưa hoàn thành",
    "chua_co_han": "Chưa có hạn",
}


def read(report: ConsolidatedReport) -> list[dict[str, str]]:
    data = rendered(report, ReportFormat.CSV)
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_header_is_vietnamese(report: ConsolidatedReport) -> None:
    data = rendered(report, ReportFormat.CSV).decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(data)))
    assert header[:5] == [
        "STT",
        "Cơ quan, đơn vị",
        "Báo cáo kỳ này",
        "Ngày gửi báo cáo",
        "Tỷ lệ báo cáo đúng hạn các kỳ (%)",
    ]
    assert "Tiến độ so với hạn" in header
    assert header[-1] == "Khó khăn, vướng mắc"


def test_every_task_of_the_database_is_a_row(
    report: ConsolidatedReport, session: Session, settings: Settings, scenario: world.Scenario
) -> None:
    rows = read(report)
    facts = database_tasks(session, plan_id=scenario.plan.id, due_soon_days=settings.due_soon_days)

    assert len(rows) == len(facts) == 34
    assert [row["STT"] for row in rows] == [str(number) for number in range(1, 35)]
    by_key = {(row["Cơ quan, đơn vị"], row["Nhiệm vụ"]): row for row in rows}
    for fact in facts:
        row = by_key[(fact.agency, fact.text)]
        assert row["Tình trạng"] == STATE_LABELS[fact.state]
        assert row["Tiến độ so với hạn"] == TIMELINESS_LABELS[fact.timeliness.value]
        assert row["Tiến độ (%)"] == str(fact.progress)
        assert row["Thời hạn"] == (fact.due_on.strftime("%d/%m/%Y") if fact.due_on else "")
        assert row["Ngày hoàn thành"] == (
            fact.completed_on.strftime("%d/%m/%Y") if fact.completed_on else ""
        )
        assert row["Người cập nhật"] == (fact.updated_by or "")
        assert row["Kết quả thực hiện"] == (fact.narrative or "")
        assert row["Khó khăn, vướng mắc"] == (fact.blocked_reason or "")


def test_agencies_reports_and_on_time_rates(report: ConsolidatedReport) -> None:
    rows = read(report)
    first = {}
    for row in rows:
        first.setdefault(row["Cơ quan, đơn vị"], row)

    lead = first[world.LEAD]
    assert (lead["Báo cáo kỳ này"], lead["Ngày gửi báo cáo"]) == ("Đúng hạn", "08/06/2021")
    # Q1 and the six-month report both on time.
    assert lead["Tỷ lệ báo cáo đúng hạn các kỳ (%)"] == "100"
    finance = first["Phòng Tài chính - Kế hoạch"]
    assert (finance["Báo cáo kỳ này"], finance["Ngày gửi báo cáo"]) == ("Quá hạn", "14/06/2021")
    assert finance["Tỷ lệ báo cáo đúng hạn các kỳ (%)"] == "0"
    farming = first["Phòng Nông nghiệp và Phát triển nông thôn"]
    # Returned: counts as not sent, whatever date it was first sent.
    assert farming["Báo cáo kỳ này"] == "Bị trả lại"
    assert farming["Ngày gửi báo cáo"] == ""
    assert farming["Tỷ lệ báo cáo đúng hạn các kỳ (%)"] == "50"
    assert first["Phòng Y tế"]["Báo cáo kỳ này"] == "Chưa báo cáo"
    # The agencies in the plan's order: the lead's block first, the communes last.
    assert list(first)[0] == world.LEAD
    assert list(first)[-3:] == list(world.COMMUNES)


def test_latest_update_and_blocked_reason(report: ConsolidatedReport) -> None:
    rows = {(row["Cơ quan, đơn vị"], row["Tình trạng"]): row for row in read(report)}

    blocked = rows[("Phòng Y tế", "Gặp vướng mắc")]
    assert blocked["Khó khăn, vướng mắc"] == "Chưa được cấp kinh phí mua thẻ bảo hiểm y tế"
    assert blocked["Cập nhật gần nhất"] == "05/06/2021 09:00"
    assert blocked["Người cập nhật"] == "Hoàng Thị Y Tế"
    # An update without a narrative: who and when, and no narrative.
    justice = rows[("Phòng Tư pháp", "Đang thực hiện")]
    assert (justice["Cập nhật gần nhất"], justice["Kết quả thực hiện"]) == ("10/06/2021 09:00", "")
    assert justice["Tiến độ so với hạn"] == "Quá hạn chưa hoàn thành"
    late = rows[("Phòng Giáo dục và Đào tạo", "Hoàn thành")]
    assert late["Tiến độ so với hạn"] == "Hoàn thành quá hạn"
    assert late["Ngày hoàn thành"] == "15/06/2021"
