"""The model as an EMA Workbench model: EMA's own experiments and scenario discovery run on it."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

import sim.experiments.ema

with warnings.catch_warnings():  # the workbench warns at import about back-ends it lacks
    warnings.simplefilter("ignore")
    from ema_workbench import perform_experiments
    from ema_workbench.analysis import prim


def test_emas_perform_experiments_runs_the_model_with_its_sampled_values():
    model = sim.ema.model(uncertainties={"forces.US.posture.block": (0.0, 1.0),
                                         "missions.ru_derik.per_day": (0.1, 2.0)}, days=2)
    experiments, outcomes = perform_experiments(model, scenarios=8)
    assert len(experiments) == 8
    assert set(outcomes) == set(sim.ema.DEFAULT_OUTCOMES)
    first = experiments.iloc[0]
    assert sim.ema.identifier("forces.US.posture.block") == "forces_US_posture_block"
    direct = sim.run("derik-june-2020", seed=0, days=2, overrides={
        "forces.US.posture.block": float(first["forces_US_posture_block"]),
        "missions.ru_derik.per_day": float(first["missions_ru_derik_per_day"])}).summary
    assert outcomes["standoffs"][0] == direct["standoffs"]
    assert outcomes["vehicle_hours_delay"][0] == pytest.approx(direct["vehicle_hours_delay"])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # inside EMA's PRIM
def test_prim_scenario_discovery_runs_on_the_experiments():
    model = sim.ema.model(days=7, outcomes=("standoffs", "vehicle_hours_delay"))
    np.random.seed(1)  # noqa: NPY002 (EMA's own samplers draw from the global generator)
    experiments, outcomes = perform_experiments(model, scenarios=24)
    x = experiments[["forces_US_posture_block", "missions_ru_derik_per_day"]]
    y = outcomes["vehicle_hours_delay"] > np.median(outcomes["vehicle_hours_delay"])
    assert 0 < y.sum() < len(y)  # both classes, or PRIM has nothing to find
    # EMA 2.x takes a threshold; 3.x dropped it
    extra = {"threshold": 0.5} if "threshold" in inspect.signature(prim.Prim).parameters else {}
    box = prim.Prim(x, y, **extra).find_box()
    limits = box.box_lims[-1]
    assert isinstance(limits, pd.DataFrame)
    assert list(limits.columns) == list(x.columns)


def test_integer_bounds_give_an_integer_parameter():
    model = sim.ema.model(uncertainties={"missions.ru_derik.vehicles": (2, 8)})
    (parameter,) = model.uncertainties
    assert type(parameter).__name__ == "IntegerParameter"
