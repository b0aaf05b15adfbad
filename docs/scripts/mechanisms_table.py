"""The patterns the mechanisms produce over many seeds (the tables of docs/mechanisms.md).

    python docs/scripts/mechanisms_table.py --seeds 40 --days 30 --out table.csv

For each shipped scenario and seed it runs the model and measures, per 30 days:
US–Russian standoffs (by kind), villager blockades, durations, vehicles a side,
helicopters per standoff, the share of standoffs that are a sortie's second or later,
vehicle-hours of civilian delay and where it arose; then the correlation of US–Russian
standoffs between the baseline and each variant under common random numbers (same seeds).
Prints medians with 10th-90th percentiles; writes one row per run with --out.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

SCENARIOS = ["derik-june-2020", "qasr-dib-base", "us-drawdown", "joint-patrol-surge",
             "villagers-resist", "deconfliction"]


def measure(job: tuple[str, int, float]) -> dict:
    """One run's figures, per 30 days."""
    import sim

    scenario, seed, days = job
    r = sim.run(scenario, seed=seed, days=days)
    s, m, t = r.standoffs, r.missions, r.trips
    scale = 30.0 / days
    usru = s[(s["kind"] != "villagers") & s.apply(
        lambda x: {x["force_a"], x["force_b"]} == {"US", "RU"}, axis=1)] if len(s) else s
    at_place = usru["at_place"] if "at_place" in usru else usru["road"] == ""
    on_road = usru[~at_place.astype(bool)] if len(usru) else usru
    blocking = usru[usru["kind"] == "blocking_position"] if len(usru) else usru
    # second or later standoff of the same Russian sortie
    ru_sortie = np.where(usru["force_a"] == "RU", usru["mission_a"], usru["mission_b"]) if len(
        usru) else np.array([])
    repeat = int(pd.Series(ru_sortie).duplicated().sum()) if len(usru) else 0
    pair = usru.apply(lambda x: tuple(sorted((x["mission_a"], x["mission_b"]))), axis=1) if len(
        usru) else pd.Series([], dtype=object)
    remeet = int(pair.duplicated().sum()) if len(usru) else 0
    ru_vehicles = np.where(usru["force_a"] == "RU", usru["vehicles_a"], usru["vehicles_b"]) if len(
        usru) else np.array([])
    us_vehicles = np.where(usru["force_a"] == "US", usru["vehicles_a"], usru["vehicles_b"]) if len(
        usru) else np.array([])
    delay = float(t["delay_min"].sum()) / 60.0
    by_place = s.groupby("place")["delay_vehicle_h"].sum() if len(s) else pd.Series(dtype=float)
    patrols = m[m["kind"] == "patrol"]
    return {
        "scenario": scenario, "seed": seed,
        "usru_standoffs": len(usru) * scale,
        "usru_on_road": len(on_road) * scale,
        "usru_at_place": (len(usru) - len(on_road) - len(blocking)) * scale,
        "usru_blocking_position": len(blocking) * scale,
        "villager_blockades": int((s["kind"] == "villagers").sum()) * scale,
        "blocking_positions_sent": int((m["kind"] == "blocking").sum()) * scale,
        "usru_duration_h_median": float(usru["duration_h"].median()) if len(usru) else np.nan,
        "usru_duration_h_max": float(usru["duration_h"].max()) if len(usru) else np.nan,
        "ru_vehicles_median": float(np.median(ru_vehicles)) if len(ru_vehicles) else np.nan,
        "us_vehicles_median": float(np.median(us_vehicles)) if len(us_vehicles) else np.nan,
        "helicopters_per_usru_standoff": float(usru["helicopters"].mean()) if len(
            usru) else np.nan,
        "repeat_share": repeat / len(usru) if len(usru) else np.nan,
        "same_pair_again": remeet * scale,
        "vehicle_hours_delay": delay * scale,
        "delay_share_qahtaniyah": float(by_place.get("qahtaniyah", 0.0)) / delay if delay else 0.0,
        "max_delay_one_standoff_vh": float(s["delay_vehicle_h"].max()) if len(s) else 0.0,
        "ru_missions_turned_back": int(((patrols["force"] == "RU")
                                        & (patrols["outcome"] == "turned_back")).sum()) * scale,
    }


def main() -> None:
    """Run every scenario over the seeds; print the medians and the CRN correlations."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="CSV of one row per run")
    args = parser.parse_args()
    jobs = [(name, seed, args.days) for name in SCENARIOS for seed in range(1, args.seeds + 1)]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(measure, jobs, chunksize=4))
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, index=False)
    figures = [c for c in table.columns if c not in ("scenario", "seed")]
    print(f"{args.seeds} seeds x {args.days:g} days; median [10th-90th percentile], per 30 days")
    for name, group in table.groupby("scenario", sort=False):
        print(f"\n{name}")
        for f in figures:
            v = group[f].dropna()
            if len(v):
                print(f"  {f:<32} {v.median():9.2f}  [{v.quantile(0.1):.2f}-"
                      f"{v.quantile(0.9):.2f}]")
    base = table[table["scenario"] == SCENARIOS[0]].set_index("seed")["usru_standoffs"]
    print("\ncorrelation of US-RU standoffs with the baseline, same seeds (CRN):")
    for name in SCENARIOS[1:]:
        other = table[table["scenario"] == name].set_index("seed")["usru_standoffs"]
        r = np.corrcoef(base, other.reindex(base.index))[0, 1] if other.std() > 0 else np.nan
        print(f"  {name:<22} r = {r:.2f}")


if __name__ == "__main__":
    main()
