"""Fail when branch coverage (branches alone, not lines) is below a floor.

``pytest --cov-fail-under`` checks coverage.py's combined figure, in which
lines and branches count together. The quality gate is about branches, so
this reads the JSON report and checks them on their own::

    python -m coverage json -q -o coverage.json
    python scripts/branch_coverage.py coverage.json 90
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def branch_percent(report: dict[str, object]) -> float:
    """Covered branches over all branches, in percent, from a coverage JSON."""
    totals = report["totals"]
    assert isinstance(totals, dict)
    branches = int(totals["num_branches"])
    return 100.0 if not branches else 100.0 * int(totals["covered_branches"]) / branches


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} COVERAGE_JSON FLOOR", file=sys.stderr)
        return 2
    report = json.loads(Path(argv[1]).read_text())
    percent, floor = branch_percent(report), float(argv[2])
    totals = report["totals"]
    print(
        f"Branch coverage: {percent:.2f}% "
        f"({totals['covered_branches']} of {totals['num_branches']} branches; "
        f"floor {floor:g}%)"
    )
    return 0 if percent >= floor else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
