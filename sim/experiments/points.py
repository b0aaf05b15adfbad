"""Per design point: mean, spread and 95% confidence interval of each output over replicates.

With common random numbers, also each point's paired difference from the reference point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.paired import paired_difference
from sim.experiments.spec import SweepSpec


def point_stats(table: pd.DataFrame, spec: SweepSpec) -> pd.DataFrame:
    """One row per design point: its parameters, run counts and figure statistics.

    For each figure ``F``: ``F_mean``, ``F_std`` (sample), ``F_ci_low`` and
    ``F_ci_high`` (Student-t 95% interval of the mean), and ``F_too_few`` when fewer
    than two runs succeeded or the interval's half-width exceeds ``ci_share`` of the
    mean's magnitude; a mean near zero is judged against the figure's mean magnitude
    over all points instead, so a point where an event is rare is not flagged forever.
    Under common random numbers, :func:`paired_columns` adds the paired difference
    from ``spec.reference_point``. Failed runs are left out and counted in ``n_failed``.
    """
    names = list(spec.parameters)
    ok = table[table["status"] == "ok"]
    firsts = table.groupby("point_id", sort=True)[names].first()
    counts = table.groupby("point_id")["status"].agg(
        n_ok=lambda s: int((s == "ok").sum()), n_failed=lambda s: int((s != "ok").sum()))
    index = firsts.index
    grouped = ok.groupby("point_id")
    columns: dict[str, pd.Series] = {}
    for figure in spec.output_names():
        values = grouped[figure]
        n = values.count().reindex(index, fill_value=0)
        mean = values.mean().reindex(index)
        std = values.std(ddof=1).reindex(index)
        t = pd.Series(stats.t.ppf(0.975, np.maximum(n - 1, 1)), index=index)
        half = t * std / np.sqrt(n.where(n > 0))
        scale = np.maximum(mean.abs(), mean.abs().mean())
        columns[f"{figure}_mean"] = mean
        columns[f"{figure}_std"] = std
        columns[f"{figure}_ci_low"] = mean - half
        columns[f"{figure}_ci_high"] = mean + half
        columns[f"{figure}_too_few"] = (n < 2) | (half > spec.ci_share * scale)
    frame = pd.concat([firsts, counts, pd.DataFrame(columns)], axis=1)
    if spec.common_random_numbers:
        frame = frame.join(paired_columns(ok, spec, index))
    return frame.reset_index()


def paired_columns(ok: pd.DataFrame, spec: SweepSpec, index: pd.Index) -> pd.DataFrame:
    """Each point's paired difference from the reference point, per figure.

    ``F_diff`` is the mean over replicates of (point − reference) for the replicates
    that succeeded at both, with a 95% interval ``F_diff_lo``–``F_diff_hi`` (Student's t,
    or a seeded BCa bootstrap when the differences are heavy-tailed: ``F_diff_interval``
    says which). The reference point's own row is all zeros.
    """
    reference = ok[ok["point_id"] == spec.reference_point].set_index("replicate")
    columns: dict[str, list] = {}
    for figure in spec.output_names():
        for suffix in ("diff", "diff_lo", "diff_hi", "diff_interval"):
            columns[f"{figure}_{suffix}"] = []
    for point in index:
        runs = ok[ok["point_id"] == point].set_index("replicate")
        common = reference.index.intersection(runs.index).sort_values()
        for figure in spec.output_names():
            if len(common) < 2:
                result = (np.nan, np.nan, np.nan, "")
            else:
                d = paired_difference(reference.loc[common, figure].to_numpy(),
                                      runs.loc[common, figure].to_numpy(),
                                      seed=spec.seed + int(point))
                result = (d.diff, d.diff_lo, d.diff_hi, d.interval)
            for suffix, value in zip(("diff", "diff_lo", "diff_hi", "diff_interval"), result,
                                     strict=True):
                columns[f"{figure}_{suffix}"].append(value)
    return pd.DataFrame(columns, index=index)


def too_few_note(points: pd.DataFrame, ci_share: float) -> str | None:
    """One line naming the outputs with points flagged ``too_few``, or None if there are none.

    Example: ``"too few replicates for ±10% intervals at: standoffs 14 of 15 points, ..."``.
    """
    counts = {col.removesuffix("_too_few"): int(points[col].sum())
              for col in points.columns if col.endswith("_too_few")}
    flagged = {name: n for name, n in counts.items() if n}
    if not flagged:
        return None
    listed = ", ".join(f"{name} {n} of {len(points)} points" for name, n in flagged.items())
    return (f"too few replicates for 95% intervals within ±{ci_share:.0%} at: {listed} "
            "(marked in the figures; more --replicates, in a new --out, narrow them)")
