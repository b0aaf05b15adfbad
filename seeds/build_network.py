"""Derive the package's data (``sim/data/*.csv``) from the sourced seeds.

The built-in network (places, roads, borders) and the observed record the model is
validated against (observations). Run from the project root after editing them::

    python seeds/build_network.py

The package data keep only the columns the model reads; sources and notes stay
here. ``tests/test_network.py`` checks that the two agree.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

SEEDS = Path(__file__).resolve().parent
DATA = SEEDS.parent / "sim" / "data"
COLUMNS = {
    "places.csv": ["id", "name", "kind", "lat", "lon", "population", "force", "country"],
    "roads.csv": ["from", "to", "road", "class", "length_km", "speed_kmh"],
    "borders.csv": ["border", "seq", "lat", "lon"],
    "observations.csv": ["pattern", "description", "reported", "low", "high", "unit", "window",
                         "area", "statistic", "model_scale", "measured_as", "use", "incidents",
                         "sources", "reasoning"],
}


def derive(name: str) -> str:
    """The package-data text of one seeds table."""
    with (SEEDS / name).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS[name])
    writer.writerows([row[c] for c in COLUMNS[name]] for row in rows)
    return buffer.getvalue()


def main() -> int:
    """Write every derived table; print what changed."""
    for name in COLUMNS:
        text = derive(name)
        target = DATA / name
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        if old != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(SEEDS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
