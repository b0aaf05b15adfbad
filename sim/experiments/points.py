"""Per design point: mean, spread and 95% confidence interval of each output over replicates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.spec import SweepSpec


def point_stats(table: pd.DataFrame, spec: SweepSpec) -> pd.DataFrame:
    """One row per design point: its parameters, run counts and figure statistics.

    For each figure ``F``: ``F_mean``, ``F_std`` (sample), ``F_ci_low`` and
    ``F_ci_high`` (Student-t 95% interval of the mean), and ``F_too_few`` when
    the interval's half-width exceeds ``ci_share`` of the mean's magnitude, or
    fewer than two runs succeeded.
    Failed runs are left out and counted in ``n_failed``.
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
        columns[f"{figure}_mean"] = mean
        columns[f"{figure}_std"] = std
        columns[f"{figure}_ci_low"] = mean - half
        columns[f"{figure}_ci_high"] = mean + half
        columns[f"{figure}_too_few"] = (n < 2) | (half > spec.ci_share * mean.abs())
    return pd.concat([firsts, counts, pd.DataFrame(columns)], axis=1).reset_index()
