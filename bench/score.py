"""Parser quality over every annotated plan: agency F1, lead accuracy, exact task counts, dates.

Run: python bench/score.py [-v]
The measures are the ones plans nobody has seen are judged by (see docs/parser.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.plans.errors import PlanError  # noqa: E402
from service.plans.parser import parse_file  # noqa: E402
from tests.plans.gold import Score, compare, gold_files, load, plan_file  # noqa: E402


def main() -> None:
    verbose = "-v" in sys.argv
    total = Score()
    plans = errors_right = errors_expected = 0
    for gold_path in gold_files():
        gold = load(gold_path)
        if "expect_error" in gold:
            errors_expected += 1
            try:
                parse_file(plan_file(gold_path))
            except PlanError as error:
                errors_right += error.code == gold["expect_error"]
            continue
        plans += 1
        score = compare(parse_file(plan_file(gold_path)), gold)
        for name in (
            "members_true",
            "members_found",
            "members_gold",
            "lead_right",
            "tasks_exact",
            "blocks",
            "dates_found",
            "dates_gold",
        ):
            setattr(total, name, getattr(total, name) + getattr(score, name))
        if verbose and score.differences:
            print(gold_path.name)
            for difference in score.differences:
                print("   ", difference)
    precision = total.members_true / max(1, total.members_found)
    recall = total.members_true / max(1, total.members_gold)
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    print(
        f"plans: {plans}, non-plans refused with the right code: {errors_right}/{errors_expected}"
    )
    print(f"agency F1: {f1:.3f} (precision {precision:.3f}, recall {recall:.3f})")
    print(f"lead agency: {total.lead_right}/{plans} = {total.lead_right / max(1, plans):.0%}")
    print(
        f"exact task counts: {total.tasks_exact}/{total.blocks} = "
        f"{total.tasks_exact / max(1, total.blocks):.0%}"
    )
    print(f"stated report dates found: {total.dates_found}/{total.dates_gold}")


if __name__ == "__main__":
    main()
