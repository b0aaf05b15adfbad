"""The seeds: every number has a source or says it is an assumption; cited sources exist."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
BASES = {"reported", "assumption", "estimate", "reported/assumption", "calibrated"}


def table(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


SOURCES = {row["key"] for row in table("sources.csv")}
EVENTS = {row["id"] for row in table("events.csv")}


@pytest.mark.parametrize("row", table("parameters.csv"), ids=lambda r: r["parameter"])
def test_every_parameter_says_where_it_comes_from(row):
    """A basis from the list; reported values cite a source; every cited source exists."""
    assert row["basis"] in BASES
    cited = row["sources"].split()
    if row["basis"].startswith("reported"):
        assert cited, "a reported value needs its source"
    assert set(cited) <= SOURCES
    assert row["reasoning"].strip()


def test_every_event_cites_sources_that_exist():
    for row in table("events.csv"):
        assert set(row["source"].split()) <= SOURCES, row["id"]
        assert row["certainty"] in {"reported", "estimate"}


def test_every_event_a_scenario_cites_is_in_the_record():
    """The ``E..`` ids in the shipped scenarios' comments are rows of events.csv."""
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        cited = set(re.findall(r"\bE(\d\d)\b", path.read_text(encoding="utf-8")))
        assert {f"E{n}" for n in cited} <= EVENTS, path.name
