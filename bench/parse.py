"""Parser speed: per-plan median time over the fixtures, and growth with a 10x longer section.

Run: python bench/parse.py [--repeat N]
Prints Markdown tables for docs/benchmarks.md. Times are CPU time (process_time) and include
reading bytes (decoding) and parsing.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

from service.plans.parser import parse_bytes
from service.plans.readers import read_bytes
from service.plans.registry import default_registry

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "plans"


def median_ms(data: bytes, name: str, repeat: int, work: object = parse_bytes) -> float:
    times = []
    for _ in range(repeat):
        # CPU time of this process: on a shared machine, time spent waiting for a core is not
        # the parser's.
        start = time.process_time()
        work(data, name)  # type: ignore[operator]
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def longer_section(text: str, factor: int) -> str:
    """The plan with its implementation section's blocks repeated `factor` times, renumbered."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if re.search(r"TỔ CHỨC THỰC HIỆN", line))
    end = next(i for i, line in enumerate(lines) if line.startswith("Trên đây là"))
    section = lines[start + 1 : end]
    blocks = [line for line in section if re.match(r"^\s*\d{1,2}\.\s", line)]
    repeated: list[str] = []
    number = 0
    for _ in range(factor):
        for line in section:
            if line in blocks:
                number += 1
                line = re.sub(r"^\s*\d{1,2}\.", f"{number % 100}.", line)
            repeated.append(line)
    return "\n".join(lines[: start + 1] + repeated + lines[end:])


def main() -> None:
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--repeat", type=int, default=50)
    repeat = arguments.parse_args().repeat
    default_registry()  # loaded once per process, not per plan

    # Baseline, same run: only reading the file (decoding, NFC). The machine is shared, so the
    # ratio to it says more than the milliseconds alone.
    print("| plan | size (KB) | parse median (ms) | plans/s | read-only median (ms) | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for path in sorted(FIXTURES.glob("*.txt")):
        data = path.read_bytes()
        ms = median_ms(data, path.name, repeat)
        base = median_ms(data, path.name, repeat, read_bytes)
        print(
            f"| {path.stem} | {len(data) / 1024:.1f} | {ms:.2f} | {1000 / ms:.0f} "
            f"| {base:.2f} | {ms / base:.1f} |"
        )

    base = (FIXTURES / "tuy-phuoc-2024.txt").read_text(encoding="utf-8")
    one = longer_section(base, 1).encode()
    ten = longer_section(base, 10).encode()
    t1 = median_ms(one, "x1.txt", repeat)
    t10 = median_ms(ten, "x10.txt", max(5, repeat // 5))
    print()
    print("| variant | size (KB) | median (ms) |")
    print("|---|---:|---:|")
    print(f"| tuy-phuoc, section x1 | {len(one) / 1024:.1f} | {t1:.2f} |")
    print(f"| tuy-phuoc, section x10 | {len(ten) / 1024:.1f} | {t10:.2f} |")
    print()
    print(f"time ratio x10/x1: {t10 / t1:.2f} (text ratio {len(ten) / len(one):.2f})")


if __name__ == "__main__":
    main()
