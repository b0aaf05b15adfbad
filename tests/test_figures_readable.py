"""Figures that work on any network, display in notebooks, and read clearly.

Readability is checked on the drawn artists, as rendered: text boxes, marker
outlines and bars in pixels after a real draw of the figure.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.container import ErrorbarContainer
from matplotlib.legend import Legend
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Affine2D
from nbclient import NotebookClient
from PIL import Image

import sim
from sim.core.model import PatrolModel
from sim.io.networks import builtin_network
from sim.viz import run_figures as plot
from sim.viz import sweep_figures as sweepplot
from sim.viz.animation import fan_out, legend_handles
from sim.viz.maps import Projection, force_color
from sim.viz.positions import snapshot

DATA = Path(__file__).resolve().parent / "data"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def drawn(ax):
    """The renderer of a real draw of ``ax``'s figure (at the figure's resolution)."""
    figure = ax.figure
    canvas = figure.canvas if hasattr(figure.canvas, "get_renderer") else FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def meet(a, b, pad: float = 0.0) -> bool:
    """Whether two display boxes overlap (or come within ``pad`` pixels)."""
    return a.x0 < b.x1 + pad and b.x0 < a.x1 + pad and a.y0 < b.y1 + pad and b.y0 < a.y1 + pad


def marker_shapes(ax) -> list[tuple[shapely.Polygon, str, int]]:
    """Every scatter marker as drawn: (outline in pixels, face colour, drawing order)."""
    shapes = []
    order = 0
    for coll in sorted(ax.collections, key=lambda c: c.get_zorder()):  # stable: as drawn
        if not isinstance(coll, PathCollection):
            continue
        paths, transforms = coll.get_paths(), coll.get_transforms()
        offsets = coll.get_offset_transform().transform(coll.get_offsets())
        colors = coll.get_facecolors()
        for i, (x, y) in enumerate(offsets):
            path = paths[i % len(paths)]
            ring = path.to_polygons(Affine2D(transforms[i % len(transforms)]))
            if not ring or len(ring[0]) < 3:
                continue
            outline = shapely.Polygon(ring[0] + [x, y]).buffer(0)
            color = to_hex(colors[i % len(colors)], keep_alpha=False) if len(colors) else ""
            shapes.append((outline, color, order))
            order += 1
    return shapes


# -- item 2: any network sim network accepts, one-way streets included ------------------


@pytest.fixture(scope="module")
def one_way_run(tmp_path_factory):
    """The one-way-town scenario (OSMnx GraphML, a one-way edge 53021750 -> 53021742), run."""
    folder = tmp_path_factory.mktemp("one-way")
    for name in ("one-way-town.toml", "one-way-town.graphml"):
        shutil.copy(DATA / name, folder / name)
    result = sim.run(folder / "one-way-town.toml", seed=1)
    result.write(folder / "run")
    return folder


def test_the_fixture_has_a_one_way_street_whose_ids_sort_the_other_way(one_way_run):
    """The case that crashed: edge u->v with u > v, and no edge v->u."""
    network = sim.RunResult.read(one_way_run / "run").network()
    assert network.graph.has_edge("53021750", "53021742")
    assert not network.graph.has_edge("53021742", "53021750")
    assert len(sim.RunResult.read(one_way_run / "run").standoffs) > 0


def test_plot_animate_and_export_work_on_a_network_with_one_way_streets(one_way_run, run_cli,
                                                                      tmp_path):
    """Every figure, the animation and the GeoJSON export, on an OSMnx network."""
    run = one_way_run / "run"
    status, _, err = run_cli("plot", run, "--out", tmp_path / "figures")
    assert status == 0, err
    assert {p.stem for p in (tmp_path / "figures").glob("*.png")} == set(plot.RUN_CHARTS)
    status, _, err = run_cli("animate", run, "--out", tmp_path / "run.gif", "--hours", 1,
                             "--step-min", 30)
    assert status == 0, err
    with Image.open(tmp_path / "run.gif") as gif:
        assert gif.n_frames == 3
    status, _, err = run_cli("export", run, "--geojson", "--out", tmp_path / "gj")
    assert status == 0, err
    network = json.loads((tmp_path / "gj" / "network.geojson").read_text())
    roads = [f for f in network["features"] if f["geometry"]["type"] == "LineString"]
    assert len(roads) == 14  # 8 one-way ring streets and 6 two-way roads, each once


def test_a_failed_plot_leaves_no_figures_folder(one_way_run, run_cli, tmp_path):
    """A run whose network file has gone: sim plot fails, and writes nothing."""
    folder = tmp_path / "moved"
    shutil.copytree(one_way_run, folder)
    sim.run(folder / "one-way-town.toml", seed=1).write(folder / "mine")
    (folder / "one-way-town.graphml").unlink()
    status, _, err = run_cli("plot", folder / "mine")
    assert status == 2 and "one-way-town.graphml" in err
    assert not (folder / "mine" / "figures").exists()


# -- item 5: figures display in notebooks -------------------------------------------------


NOTEBOOK_CELLS = [
    "import sim\nsim.plot.network_map()",
    "import pandas as pd\n"
    "table = pd.DataFrame({'S1': [0.3, 0.4], 'S1_conf': [0.05, 0.05], 'ST': [0.5, 0.45],\n"
    "                      'ST_conf': [0.06, 0.04]}, index=['forces.US.posture.block', 'b'])\n"
    "ax = sim.sweepplot.sensitivity(table)\nprint(type(ax).__name__)",
    "import matplotlib.pyplot as plt\nfig, axes = plt.subplots(1, 2, figsize=(12, 4))\n"
    "print(sim.plot.network_map(ax=axes[1]) is axes[1])",
]


@pytest.mark.slow
def test_a_figure_called_as_documented_displays_in_a_notebook(monkeypatch, tmp_path):
    """``sim.plot.network_map()`` alone shows its figure; it still returns its Axes, takes ax=."""
    monkeypatch.delenv("MPLBACKEND", raising=False)  # as Jupyter starts: the kernel picks inline
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c)
                                               for c in NOTEBOOK_CELLS])
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [cell.outputs for cell in notebook.cells]
    assert not [o for cell in outputs for o in cell if o.output_type == "error"]
    for cell in outputs:
        assert any("image/png" in o.get("data", {}) for o in cell), cell
    printed = ["".join(o.get("text", "") for o in cell if o.output_type == "stream")
               for cell in outputs]
    assert printed[1].strip() == "Axes" and printed[2].strip() == "True"


@pytest.mark.slow
def test_every_figure_cell_of_notebook_02_shows_its_figure(monkeypatch, tmp_path):
    """Each cell that calls a figure function (the heat map too) carries an image."""
    monkeypatch.setenv("SIM_QUICK", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    (path,) = (DATA.parent.parent / "notebooks").glob("02-*.ipynb")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    figure_cells = [c for c in notebook.cells if c.cell_type == "code"
                    and ("sweepplot." in c.source or "plot." in c.source)]
    assert len(figure_cells) >= 2
    for cell in figure_cells:
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source


# -- item 6: readable figures -------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline():
    """The README's baseline run: 30 days, seed 7."""
    return sim.run("derik-june-2020", seed=7, days=30)


def test_place_labels_overlap_neither_each_other_nor_any_marker():
    """Every place name drawn on the network map is clear of other names and of every marker."""
    ax = plot.network_map()
    renderer = drawn(ax)
    names = {p.name for p in builtin_network().places.values()}
    labels = [t for t in ax.findobj(Text) if t.get_visible() and t.get_text() in names]
    assert len(labels) >= 15 and {"al-Malikiyah", "Qamishli", "Nusaybin", "Rmelan"} <= {
        t.get_text() for t in labels}
    boxes = [t.get_window_extent(renderer) for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not meet(a, b)
    markers = [shape for shape, _, _ in marker_shapes(ax)]
    for text, box in zip(labels, boxes, strict=True):
        outline = shapely.box(box.x0, box.y0, box.x1, box.y1)
        assert not any(outline.intersects(m) for m in markers), text.get_text()


def test_map_legends_sit_beside_the_map_never_over_it(baseline):
    """No legend covers a town: every legend of every map lies outside the map's frame."""
    for draw in (plot.network_map, plot.standoff_map, plot.delay_map):
        ax = draw(baseline)
        renderer = drawn(ax)
        legends = [a for a in ax.get_children() if isinstance(a, Legend)]
        assert legends
        for legend in legends:
            box = legend.get_window_extent(renderer)
            assert not meet(box, ax.bbox), draw.__name__
            assert ax.figure.bbox.x1 >= box.x1  # and inside the figure, not cut off


def test_each_kind_of_standoff_at_a_place_shows_in_proportion(baseline):
    """At a place with two kinds, each kind's visible area is its share of the place's circle."""
    ax = plot.standoff_map(baseline)
    drawn(ax)
    colors = {to_hex(c): k for k, c in plot.KIND_COLORS.items()}
    shapes = [(shape, color) for shape, color, _ in marker_shapes(ax) if color in colors]
    shown = [(shape.difference(shapely.unary_union([s for s, _ in shapes[i + 1:]])), color)
             for i, (shape, color) in enumerate(shapes)]  # what later markers leave visible
    counts = baseline.standoffs.groupby(["place", "kind"]).size()
    mixed = [p for p in counts.index.get_level_values(0).unique() if len(counts[p]) > 1]
    assert "derik" in mixed  # villagers and patrols at al-Malikiyah
    proj = Projection.for_network(baseline.network())
    for place in mixed:
        lat, lon = baseline.standoffs.loc[baseline.standoffs["place"] == place,
                                          ["lat", "lon"]].mean()
        point = shapely.Point(ax.transData.transform(np.column_stack(proj.xy(lat, lon)))[0])
        here = [(s, color) for s, color in shown if s.distance(point) < 1.0]
        total = sum(s.area for s, _ in here)
        for kind, n in counts[place].items():
            area = sum(s.area for s, color in here if colors[color] == kind)
            assert area / total == pytest.approx(n / counts[place].sum(), abs=0.05), (place, kind)


def test_colour_bar_tick_labels_do_not_collide(baseline):
    """The delay map's colour-bar labels (major and minor) are apart from one another."""
    ax = plot.delay_map(baseline)
    renderer = drawn(ax)
    (bar_ax,) = [a for a in ax.figure.axes if a is not ax]
    ticks = [t for t in bar_ax.xaxis.get_ticklabels(which="both")
             if t.get_visible() and t.get_text()]
    assert len(ticks) >= 3
    boxes = [t.get_window_extent(renderer) for t in ticks]
    for a, b in itertools.combinations(boxes, 2):
        assert not meet(a, b, pad=2.0)


def test_the_timeline_names_roads_and_places_as_the_maps_do(baseline):
    """Each row reads 'al-Malikiyah – Kar Qahfak', never ids such as 'derik – kar_qahfak'."""
    ax = plot.timeline(baseline)
    names = {p.name for p in baseline.network().places.values()}
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows and all(part in names for row in rows for part in row.split(" – "))
    assert "al-Malikiyah – Kar Qahfak" in rows


def test_the_timeline_axis_names_the_month_once(baseline):
    """Ticks read '05 Jun'; the year stands once beside the axis; no month is repeated there."""
    ax = plot.timeline(baseline)
    drawn(ax)
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    offset = ax.xaxis.get_offset_text().get_text()
    assert len(ticks) == len(set(ticks)) >= 3
    assert not any(month in offset for month in MONTHS) and "2020" in offset


def test_two_standoffs_close_together_at_one_road_stay_two_bars():
    """Seed 3: two standoffs an hour apart at Dirna Agha – Sarmsakh make two separate bars."""
    run = sim.run("derik-june-2020", seed=3, days=10)
    ax = plot.timeline(run)
    renderer = drawn(ax)
    bars = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == len(run.standoffs) == 3
    for a, b in itertools.combinations(bars, 2):
        assert not meet(a, b, pad=1.0)


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    spec = folder / "grid.toml"
    spec.write_text('name = "grid"\nscenario = "derik-june-2020"\ndays = 2\nreplicates = 3\n'
                    'outputs = ["standoffs", "standoff_hours", "vehicle_hours_delay", '
                    '"missions_turned_back"]\n[design]\nkind = "grid"\n'
                    '[parameters."forces.US.posture.block"]\nvalues = [0.0, 1.0]\n'
                    '[parameters."missions.ru_derik.per_day"]\nvalues = [0.5, 1.0, 2.0]\n')
    sim.sweep(spec, out=folder / "out", workers=0, quiet=True)
    return folder / "out"


def all_text(ax) -> list[str]:
    texts = [ax.get_xlabel(), ax.get_ylabel(), ax.get_title()]
    legend = ax.get_legend()
    if legend is not None:
        texts += [legend.get_title().get_text()] + [t.get_text() for t in legend.get_texts()]
    return texts


def test_sweep_figures_name_parameters_in_words(grid_sweep):
    """'US: blocking probability', 'RU patrols to al-Malikiyah: departures per day'."""
    ax = sweepplot.response(grid_sweep, "missions.ru_derik.per_day", "standoffs",
                            by="forces.US.posture.block")
    assert ax.get_xlabel() == "RU patrols to al-Malikiyah: departures per day"
    assert "US: blocking probability" in ax.get_legend().get_title().get_text()
    assert not [t for t in all_text(ax) if "posture" in t or "per_day" in t]
    bars = sweepplot.sensitivity(pd.DataFrame({"S1": [0.3], "S1_conf": [0.05], "ST": [0.5],
                                               "ST_conf": [0.06]},
                                              index=["encounters.duration_sigma"]))
    assert [t.get_text() for t in bars.get_yticklabels()] == [
        "standoffs: spread of standoff durations (σ)"]


def test_heat_maps_say_what_the_plus_minus_is(grid_sweep):
    """The figure states that ± is the half-width of the 95% confidence interval."""
    ax = sweepplot.heatmap(grid_sweep, "forces.US.posture.block", "missions.ru_derik.per_day",
                           "vehicle_hours_delay")
    assert any("±" in t.get_text() for t in ax.texts)
    assert "± half-width of its 95% confidence interval" in ax.get_title()
    assert not any("e+" in t.get_text() for t in ax.texts)


def test_several_response_curves_keep_their_intervals_apart(grid_sweep):
    """One curve per blocking level: error bars at distinct x, no translucent bands to mix."""
    ax = sweepplot.response(grid_sweep, "missions.ru_derik.per_day", "standoff_hours",
                            by="forces.US.posture.block")
    assert not [c for c in ax.collections if type(c).__name__ in ("PolyCollection",
                                                                   "FillBetweenPolyCollection")]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2
    xs = [{round(float(seg[0][0]), 9) for seg in c.lines[2][0].get_segments()} for c in bars]
    assert len(xs[0]) == len(xs[1]) == 3 and not xs[0] & xs[1]


def test_sim_plot_draws_every_output_a_sweep_recorded(grid_sweep, run_cli, tmp_path):
    """Four outputs: a response curve against each parameter and a heat map, for each."""
    status, _, err = run_cli("plot", grid_sweep, "--out", tmp_path)
    assert status == 0, err
    names = {p.stem for p in tmp_path.glob("*.png")}
    outputs = sim.read_sweep(grid_sweep).outputs
    assert len(outputs) == 4
    for output in outputs:
        assert f"heatmap-{output}" in names
        for x in ("forces.US.posture.block", "missions.ru_derik.per_day"):
            assert f"response-{output}-{x}" in names


def test_the_animation_key_shows_a_patrol_in_each_forces_colour(baseline):
    """One key entry per patrolling force, in its map colour, not one blue 'patrol'."""
    handles = legend_handles(baseline.scenario())
    patrols = {h.get_label(): h.get_markerfacecolor() for h in handles
               if h.get_label().endswith(" patrol")}
    assert patrols == {f"{f} patrol": force_color(f) for f in ("US", "RU", "RU+TR")}


def test_both_sides_of_a_standoff_show_in_the_animation(baseline):
    """Two patrols at one standoff share a point; fanned out, each marker is clear of the other."""
    first = baseline.standoffs.loc[baseline.standoffs["kind"] == "patrols", "start"].min()
    model = PatrolModel(baseline.scenario(), rng=7)
    t0 = pd.Timestamp(baseline.provenance["scenario_content"]["start"])
    model.events.run_until((first - t0).total_seconds() / 60 + 1)
    s = snapshot(model)
    xy = np.column_stack([s.patrol_lon, s.patrol_lat])
    _, counts = np.unique(np.round(xy, 9), axis=0, return_counts=True)
    assert counts.max() >= 2  # the problem: both sides at one point
    spread = fan_out(xy, 0.01)
    gaps = [np.hypot(*(a - b)) for a, b in itertools.combinations(spread, 2)]
    assert min(gaps) >= 0.01 - 1e-12
