"""Figures, animation and GIS export, drawn from real runs and sweeps."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import shapely
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle
from PIL import Image

import sim
from sim.io.geojson import export_geojson
from sim.io.networks import builtin_network
from sim.viz import run_figures as plot
from sim.viz import sweep_figures as sweepplot
from sim.viz.animation import animate
from sim.viz.maps import Projection


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run") / "baseline"
    sim.run("derik-june-2020", seed=3, days=10).write(folder)
    return folder


@pytest.fixture(scope="module")
def run(run_dir):
    return sim.RunResult.read(run_dir)


def test_the_projection_is_metric():
    """One degree of latitude is 111.2 km; a degree of longitude shrinks with cos(latitude)."""
    proj = Projection(37.0, 42.0)
    x, y = proj.xy([38.0, 37.0], [42.0, 43.0])
    assert y[0] == pytest.approx(111.195, rel=1e-4) and x[1] == pytest.approx(
        111.195 * np.cos(np.radians(37.0)), rel=1e-4)


def test_the_network_map_draws_every_road_and_place_in_kilometres():
    ax = plot.network_map()
    network = builtin_network()
    roads = sum(len(c.get_segments()) for c in ax.collections if isinstance(c, LineCollection))
    assert roads == 41
    markers = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    kinds = [p.kind for p in network.places.values()]
    assert markers == sum(k in ("town", "village", "base", "crossing") for k in kinds)
    assert "km east" in ax.get_xlabel() and "km north" in ax.get_ylabel()
    assert 80 < ax.get_xlim()[1] - ax.get_xlim()[0] < 200  # km, not degrees
    assert {t.get_text() for t in ax.texts} >= {"TURKEY", "IRAQ"}


def test_the_standoff_map_puts_one_pie_per_place_sliced_by_kind(run):
    ax = plot.standoff_map(run)
    slices = [c for c in ax.collections if str(c.get_gid()).startswith("standoffs/")]
    groups = set(run.standoffs.groupby(["place", "kind"]).groups)
    assert {tuple(c.get_gid().split("/")[1:]) for c in slices} == groups and groups
    assert all(isinstance(c, PathCollection) and len(c.get_offsets()) == 1 for c in slices)
    centres = {tuple(np.round(c.get_offsets()[0], 6)) for c in slices}
    assert len(centres) == run.standoffs["place"].nunique()
    biggest = run.standoffs["place"].value_counts().idxmax()
    whole = [c for c in slices if c.get_gid().startswith(f"standoffs/{biggest}/")]
    if len(whole) == 1:  # one kind there: a full circle of the full area
        assert whole[0].get_sizes()[0] == pytest.approx(600.0)


def test_the_delay_map_colours_each_road_that_closures_made_civilians_wait_on(run):
    ax = plot.delay_map(run)
    roads, _ = plot.delay_by_gate(run.standoffs)
    colored = [c for c in ax.collections if isinstance(c, LineCollection) and c.get_array()
               is not None]
    assert len(colored) == 1
    assert len(colored[0].get_segments()) == sum(1 for v in roads.values() if v > 0)
    assert sorted(colored[0].get_array()) == sorted(v for v in roads.values() if v > 0)


def test_the_timeline_has_one_bar_per_standoff(run):
    ax = plot.timeline(run)
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == len(run.standoffs) > 0


def test_the_delay_distribution_counts_every_delayed_trip(run):
    ax = plot.delay_distribution(run)
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == (run.trips["delay_min"] > 0).sum()
    assert f"travel-time index {run.summary['travel_time_index']:.3f}" in ax.texts[0].get_text()


def test_mission_outcomes_stack_every_patrol_by_force(run):
    ax = plot.mission_outcomes(run)
    total = sum(p.get_width() for p in ax.patches)
    assert total == (run.missions["kind"] == "patrol").sum() == run.summary["missions"]
    positions = run.summary["blocking_positions_US"]
    assert positions > 0 and f"counted apart: US {positions}" in ax.get_xlabel()


def test_every_figure_accepts_an_axes_to_draw_into(run):
    from matplotlib.figure import Figure

    figure = Figure()
    axes = figure.subplots(2, 3).ravel()
    for ax, draw in zip(axes, plot.RUN_CHARTS.values(), strict=True):
        assert draw(run, ax=ax) is ax


def test_sim_plot_writes_every_run_figure_as_png(run_dir, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sim", "plot", str(run_dir), "--out",
                           str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(tmp_path.glob("*.png"))
    assert {p.stem for p in pngs} == set(plot.RUN_CHARTS)
    for png in pngs:
        with Image.open(png) as image:
            assert image.size[0] > 500


@pytest.mark.slow
def test_the_animation_has_a_frame_per_step_and_a_moving_clock(run_dir, tmp_path):
    out = animate(run_dir, tmp_path / "run.gif", hours=2, step_min=10, fps=5, dpi=50)
    with Image.open(out) as gif:
        assert gif.n_frames == 13
        gif.seek(0)
        first = np.asarray(gif.convert("RGB"))
        gif.seek(12)
        last = np.asarray(gif.convert("RGB"))
    assert not np.array_equal(first, last)


def test_the_geojson_export_reads_back_as_valid_geometries(run_dir, tmp_path):
    paths = {p.stem: p for p in export_geojson(run_dir, tmp_path)}
    run = sim.RunResult.read(run_dir)
    shapes = {}
    for name, path in paths.items():
        data = json.loads(path.read_text())
        assert data["type"] == "FeatureCollection"
        shapes[name] = [shapely.geometry.shape(f["geometry"]) for f in data["features"]]
        assert all(s.is_valid for s in shapes[name])
    assert len(shapes["standoffs"]) == len(run.standoffs)
    assert len(shapes["trips"]) == len(run.trips)
    roads = [s for s in shapes["network"] if s.geom_type == "LineString"]
    assert len(roads) == 41
    lon, lat = shapes["standoffs"][0].x, shapes["standoffs"][0].y
    assert 41 < lon < 43 and 36 < lat < 38  # lon, lat order (RFC 7946)
    standoff = json.loads(paths["standoffs"].read_text())["features"][0]["properties"]
    assert standoff["standoff_id"] == run.standoffs.iloc[0]["standoff_id"]


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    spec = folder / "grid.toml"
    # the outputs the figures here look at (sim plot draws three figures for each)
    spec.write_text('name = "grid"\ndays = 2\nreplicates = 3\n'
                    'outputs = ["standoffs", "standoff_hours", "vehicle_hours_delay"]\n'
                    '[design]\nkind = "grid"\n'
                    '[parameters."forces.US.posture.block"]\nvalues = [0.0, 1.0]\n'
                    '[parameters."missions.ru_derik.per_day"]\nvalues = [0.5, 1.0, 2.0]\n')
    sim.sweep(spec, out=folder / "out", workers=0, quiet=True)
    return folder / "out"


def test_response_curves_draw_a_band_for_one_curve_and_error_bars_for_several(grid_sweep):
    points = sim.read_sweep(grid_sweep).points
    one = sweepplot.response(points[points["forces.US.posture.block"] == 0.0],
                             "missions.ru_derik.per_day", "standoffs")
    from matplotlib.collections import PolyCollection

    bands = [c for c in one.collections if isinstance(c, PolyCollection)]
    assert len(one.lines) == 1 and len(bands) == 1
    assert list(one.lines[0].get_xdata()) == [0.5, 1.0, 2.0]
    ax = sweepplot.response(grid_sweep, "missions.ru_derik.per_day", "standoffs",
                            by="forces.US.posture.block")
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2
    middle = sum(np.asarray(b.lines[0].get_xdata(), dtype=float) for b in bars) / 2
    assert list(np.round(middle, 9)) == [0.5, 1.0, 2.0]


def test_points_with_too_few_replicates_are_marked_in_curves_and_heat_maps(grid_sweep):
    """Every flagged point gets a red ring on its curve and a dashed frame in the heat map."""
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Rectangle

    points = sim.read_sweep(grid_sweep).points
    flagged = int(points["standoffs_too_few"].sum())
    assert flagged > 0  # two-day runs, three replicates: wide intervals
    ax = sweepplot.response(grid_sweep, "missions.ru_derik.per_day", "standoffs",
                            by="forces.US.posture.block")
    rings = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert rings == flagged
    assert sweepplot.FLAG_LABEL in [t.get_text() for t in ax.get_legend().get_texts()]
    ax = sweepplot.heatmap(grid_sweep, "forces.US.posture.block", "missions.ru_derik.per_day",
                           "standoffs")
    frames = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_linestyle() == "--"]
    assert len(frames) == flagged and f"dashed: {flagged} cells" in ax.get_title()
    clear = points.assign(standoffs_too_few=False)
    ax = sweepplot.heatmap(clear, "forces.US.posture.block", "missions.ru_derik.per_day",
                           "standoffs")
    assert "dashed" not in ax.get_title()


def test_a_heatmap_holds_the_grid_of_means(grid_sweep):
    ax = sweepplot.heatmap(grid_sweep, "forces.US.posture.block", "missions.ru_derik.per_day",
                           "standoffs")
    (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert image.get_array().shape == (3, 2)
    assert len(ax.texts) == 6


def test_sensitivity_bars_show_each_index_with_its_interval():
    import pandas as pd

    table = pd.DataFrame({"S1": [0.3, 0.4], "S1_conf": [0.05, 0.05], "ST": [0.5, 0.45],
                          "ST_conf": [0.06, 0.04]}, index=["a", "b"])
    ax = sweepplot.sensitivity(table)
    widths = sorted(round(p.get_width(), 6) for p in ax.patches)
    assert widths == [0.3, 0.4, 0.45, 0.5]


def test_sim_plot_draws_a_sweeps_figures(grid_sweep, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sim", "plot", str(grid_sweep), "--out",
                           str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    names = {p.stem for p in tmp_path.glob("*.png")}
    outputs = ("standoffs", "standoff_hours", "vehicle_hours_delay")
    parameters = ("forces.US.posture.block", "missions.ru_derik.per_day")
    assert names == {f"heatmap-{o}" for o in outputs} | {
        f"response-{o}-{p}" for o in outputs for p in parameters}


@pytest.mark.parametrize(("option", "message"), [
    (["--out", "run.avi"], "is neither .gif nor .mp4"),
    (["--hours", "-5"], "--hours = -5 must be > 0"),
    (["--step-min", "0"], "--step-min = 0 must be > 0"),
    (["--fps", "0"], "--fps = 0 must be between 1 and 120"),
    (["--hours", "inf"], "--hours = inf must be > 0"),
    (["--hours", "700", "--step-min", "0.1"], "frames (at most 5,000)"),
])
def test_animate_refuses_options_that_cannot_make_an_animation(run_dir, tmp_path, run_cli,
                                                               option, message):
    status, _, err = run_cli("animate", run_dir, *option, cwd=tmp_path)
    assert status == 2 and message in err
    assert list(tmp_path.iterdir()) == []


def test_sim_plot_draws_a_run_with_no_forces_at_all(tmp_path, run_cli):
    (tmp_path / "empty.toml").write_text('name = "empty"\ndays = 0.5\n[forces]\n')
    assert run_cli("run", "empty.toml", "--seed", 1, "--out", "run", "-q", cwd=tmp_path)[0] == 0
    status, _, err = run_cli("plot", "run", cwd=tmp_path)
    assert status == 0, err
    assert len(list((tmp_path / "run" / "figures").glob("*.png"))) == len(plot.RUN_CHARTS)


def test_a_second_order_saltelli_sweep_of_one_parameter_has_indices_but_no_pairs(tmp_path,
                                                                                run_cli):
    (tmp_path / "s.toml").write_text(
        'name = "s"\ndays = 0.25\n[design]\nkind = "saltelli"\nn = 4\nsecond_order = true\n'
        '[parameters."forces.US.posture.block"]\nrange = [0.2, 0.8]\n')
    sim.sweep(tmp_path / "s.toml", out=tmp_path / "out", workers=0, quiet=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # four points: noise warnings expected
        table = sim.analyze.sobol(tmp_path / "out", output="standoffs")
    assert list(table.index) == ["forces.US.posture.block"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status, _, err = run_cli("plot", tmp_path / "out", cwd=tmp_path)
    assert status == 0, err
