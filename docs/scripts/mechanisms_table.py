"""The patterns the mechanisms produce over many seeds (the tables of docs/mechanisms.md).

    python docs/scripts/mechanisms_table.py --seeds 40 --days 30 --out after.csv
    python docs/scripts/mechanisms_table.py --compare before.csv after.csv   # Markdown tables

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
from scipy import stats

SCENARIOS = ["derik-june-2020", "qasr-dib-base", "us-drawdown", "joint-patrol-surge",
             "villagers-resist", "deconfliction"]


#: Switchable mechanisms, each turned off on its own (parameter overrides of the baseline).
ABLATIONS = {
    "no route preference": {"forces.RU.routing.road_class.track": 1.0,
                            "forces.RU+TR.routing.road_class.track": 1.0},
    "rematches allowed": {"encounters.rematch_after_h": 0.0},
    "fixed convoys (4, 8 joint)": {**{f"missions.{m}.vehicles": 4 for m in (
        "ru_derik", "ru_semalka", "ru_m4_south", "us_derik_road", "us_oilfields",
        "us_m4_west")}, "missions.ru_qasr_dib.vehicles": 6,
        "missions.joint_border.vehicles": 8, "forces.US.blocking.vehicles": 4},
    "no escorts": {f"missions.{m}.escort.p": 0.0 for m in (
        "ru_derik", "ru_semalka", "ru_qasr_dib", "joint_border")},
    "no blocking positions": {"forces.US.posture.deploy_blocking": 0.0},
    "positions on villagers' cue only": {"forces.US.blocking.triggers": ["villagers"]},
}


def measure(job: tuple) -> dict:
    """One run's figures, per 30 days."""
    import sim

    scenario, seed, days, *rest = job
    overrides = rest[0] if rest else {}
    r = sim.run(scenario, seed=seed, days=days, overrides=overrides)
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
        "scenario": scenario if not rest else rest[1], "seed": seed,
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


ROWS = [("usru_standoffs", "US–RU standoffs a month", "{:.0f}"),
        ("usru_on_road", "  head-on on a road", "{:.0f}"),
        ("usru_at_place", "  at a place a patrol holds", "{:.0f}"),
        ("usru_blocking_position", "  at a blocking position", "{:.0f}"),
        ("villager_blockades", "villager blockades a month", "{:.0f}"),
        ("blocking_positions_sent", "blocking positions sent a month", "{:.0f}"),
        ("repeat_share", "share of a Russian sortie's 2nd+ standoffs", "{:.2f}"),
        ("same_pair_again", "same two units again, a month", "{:.0f}"),
        ("usru_duration_h_median", "US–RU standoff duration, median h", "{:.1f}"),
        ("ru_vehicles_median", "Russian vehicles a standoff", "{:.0f}"),
        ("us_vehicles_median", "US vehicles a standoff", "{:.0f}"),
        ("helicopters_per_usru_standoff", "helicopters per US–RU standoff", "{:.1f}"),
        ("vehicle_hours_delay", "vehicle-hours of civilian delay a month", "{:,.0f}"),
        ("delay_share_qahtaniyah", "share of delay at Qahtaniyah", "{:.2f}"),
        ("max_delay_one_standoff_vh", "delay of the costliest standoff, vh", "{:,.0f}"),
        ("ru_missions_turned_back", "Russian missions turned back a month", "{:.0f}")]


def _cell(values: pd.Series, fmt: str) -> str:
    v = values.dropna()
    if not len(v):
        return "–"
    return (f"{fmt.format(v.median())} [{fmt.format(v.quantile(0.1))}–"
            f"{fmt.format(v.quantile(0.9))}]")


def crn(table: pd.DataFrame, figure: str = "usru_standoffs") -> pd.DataFrame:
    """Per variant: its correlation with the baseline under the same seeds, and the pairing gain.

    The gain is how much narrower the paired 95% interval of the mean difference is
    than the unpaired (Welch) one.
    """
    base = table[table["scenario"] == SCENARIOS[0]].set_index("seed")[figure]
    rows = []
    for name in SCENARIOS[1:]:
        other = table[table["scenario"] == name].set_index("seed")[figure].reindex(base.index)
        n = len(base)
        diff = other - base
        t = stats.t.ppf(0.975, n - 1)
        paired = t * diff.std(ddof=1) / np.sqrt(n)
        unpaired = t * np.sqrt(base.var(ddof=1) / n + other.var(ddof=1) / n)
        r = np.corrcoef(base, other)[0, 1] if other.std() > 0 and base.std() > 0 else np.nan
        rows.append({"scenario": name, "n": n, "r": r, "diff": diff.mean(),
                     "paired_half": paired, "unpaired_half": unpaired,
                     "narrower": 1 - paired / unpaired if unpaired > 0 else np.nan})
    return pd.DataFrame(rows)


def compare(before: pd.DataFrame, after: pd.DataFrame) -> None:
    """Print Markdown: the baseline before and after, and the pairing each achieved."""
    b = before[before["scenario"] == SCENARIOS[0]]
    a = after[after["scenario"] == SCENARIOS[0]]
    print(f"| baseline, {b['seed'].nunique()} seeds × 30 days: median [10th–90th] | before |"
          " after |")
    print("|---|---|---|")
    for figure, label, fmt in ROWS:
        print(f"| {label} | {_cell(b[figure], fmt)} | {_cell(a[figure], fmt)} |")
    cb, ca = crn(before), crn(after)
    print("\n| variant | r before | r after | paired CI narrower than unpaired, before |"
          " after | mean difference in US–RU standoffs a month, after (95% CI, paired) |")
    print("|---|---|---|---|---|---|")
    for (_, x), (_, y) in zip(cb.iterrows(), ca.iterrows(), strict=True):
        interval = (f"{y['diff']:+.1f} ({y['diff'] - y['paired_half']:+.1f} to "
                    f"{y['diff'] + y['paired_half']:+.1f})")
        print(f"| {x['scenario']} | {x['r']:.2f} | {y['r']:.2f} | {x['narrower']:.0%} | "
              f"{y['narrower']:.0%} | {interval} |")


def ablations(n_seeds: int, days: float, workers: int) -> None:
    """Print Markdown: each mechanism off, the paired mean change and its 95% interval."""
    seeds = range(1, n_seeds + 1)
    jobs = [(SCENARIOS[0], seed, days, {}, "baseline") for seed in seeds]
    jobs += [(SCENARIOS[0], seed, days, overrides, name)
             for name, overrides in ABLATIONS.items() for seed in seeds]
    with ProcessPoolExecutor(workers) as pool:
        table = pd.DataFrame(pool.map(measure, jobs, chunksize=4))
    base = table[table["scenario"] == "baseline"].set_index("seed")
    figures = [("usru_standoffs", "US–RU standoffs"), ("villager_blockades", "blockades"),
               ("vehicle_hours_delay", "vehicle-hours of delay")]
    print(f"| turned off ({n_seeds} seeds, paired) | "
          + " | ".join(f"change in {label} a month (95% CI)" for _, label in figures) + " |")
    print("|---" * (len(figures) + 1) + "|")
    t = stats.t.ppf(0.975, n_seeds - 1)
    for name in ABLATIONS:
        other = table[table["scenario"] == name].set_index("seed")
        cells = []
        for figure, _ in figures:
            diff = other[figure] - base[figure]
            half = t * diff.std(ddof=1) / np.sqrt(n_seeds)
            cells.append(f"{diff.mean():+,.1f} ({diff.mean() - half:+,.1f} to "
                         f"{diff.mean() + half:+,.1f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    """Run every scenario over the seeds; print the medians and the CRN correlations."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="print Markdown tables from two CSVs written with --out")
    parser.add_argument("--ablations", action="store_true",
                        help="turn each switchable mechanism off in the baseline, paired")
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="CSV of one row per run")
    args = parser.parse_args()
    if args.compare:
        compare(pd.read_csv(args.compare[0]), pd.read_csv(args.compare[1]))
        return
    if args.ablations:
        ablations(args.seeds, args.days, args.workers)
        return
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
