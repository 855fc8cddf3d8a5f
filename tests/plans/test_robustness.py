"""The parser never crashes: any text either parses or raises PlanError with a known code."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.i18n import catalogue
from service.plans.errors import PlanError
from service.plans.parser import parse_bytes

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plans"
REAL = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))]
SECTION_WORDS = [
    "IV. TỔ CHỨC THỰC HIỆN",
    "1. Phòng Y tế:",
    "- Chủ trì",
    "a)",
    "Đề nghị",
    "và",
    ",",
    "\n",
]


def parse_or_plan_error(text: str) -> None:
    try:
        result = parse_bytes(text.encode("utf-8"), "fuzz.txt")
    except PlanError as error:
        code = error.code
    else:
        code = None
    if code is not None:
        assert code in catalogue()
        return
    assert result.assignments
    assert all(a.tasks and a.members for a in result.assignments)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=2000))
def test_arbitrary_text(text: str) -> None:
    parse_or_plan_error(text)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(SECTION_WORDS + ["Phòng Tư pháp", "năm 2024", "10/6"]), max_size=80)
)
def test_plan_shaped_noise(words: list[str]) -> None:
    parse_or_plan_error(" ".join(words))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(REAL),
    st.lists(
        st.tuples(st.integers(0, 40_000), st.integers(0, 400), st.text(max_size=30)), max_size=8
    ),
)
def test_mutated_real_plans(text: str, edits: list[tuple[int, int, str]]) -> None:
    for position, length, insert in edits:
        position %= len(text) + 1
        text = text[:position] + insert + text[position + length :]
    parse_or_plan_error(text)
