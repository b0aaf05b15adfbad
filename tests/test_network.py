"""The road network: the built-in data, routes and detours, and user GraphML files."""

import csv
import importlib.util
from pathlib import Path

import networkx as nx
import pytest

from sim.core.network import BUILTIN, Place, haversine_km, road_key
from sim.core.routing import MAX_WEIGHTS, weight_name
from sim.errors import InputError
from sim.io.graphml import parse_maxspeed
from sim.io.networks import builtin_network, load_network, read_graphml
from tests.conftest import line_nodes, write_graphml

ROOT = Path(__file__).resolve().parent.parent


def seeds(name):
    with (ROOT / "seeds" / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_builtin_network_holds_every_place_and_road_of_the_seeds():
    """All 34 places at their coordinates and all 41 roads with their lengths."""
    network = builtin_network()
    places, roads = seeds("places.csv"), seeds("roads.csv")
    assert len(places) == 34 and len(roads) == 41
    for row in places:
        place = network.places[row["id"]]
        assert (place.lat, place.lon) == (float(row["lat"]), float(row["lon"]))
        assert place.kind == row["kind"]
        assert place.population == (int(row["population"]) if row["population"] else None)
        assert place.force == row["force"]
    for row in roads:
        for u, v in ((row["from"], row["to"]), (row["to"], row["from"])):
            assert network.length_km(u, v) == float(row["length_km"])
            assert network.graph.edges[u, v]["speed_kmh"] == float(row["speed_kmh"])
    assert network.summary()["roads"] == 41
    assert network.places["qamishli_airport"].force == "RU"
    assert set(network.borders) == {"TR", "IQ"}


def test_package_data_is_derived_from_the_seeds_unchanged():
    """sim/data/*.csv equals what seeds/build_network.py derives (no hand edits, no drift)."""
    spec = importlib.util.spec_from_file_location("build", ROOT / "seeds" / "build_network.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for name in build.COLUMNS:
        assert (ROOT / "sim" / "data" / name).read_text(encoding="utf-8") == build.derive(name)


def test_estimated_road_lengths_are_at_least_the_straight_line_distance():
    """No road is shorter than the great-circle distance between its ends."""
    network = builtin_network()
    for u, v, data in network.graph.edges(data=True):
        straight = haversine_km(network.lat(u), network.lon(u), network.lat(v), network.lon(v))
        assert data["length_km"] >= straight * 0.99, (u, v)


def test_route_from_qamishli_to_derik_follows_the_m4_and_the_derik_road():
    """93.7 km by the sourced road, against about 90 km in the sources."""
    network = builtin_network()
    route = network.route("qamishli", "derik")
    assert route.nodes[0] == "qamishli" and route.nodes[-1] == "derik"
    assert "qahtaniyah" in route.nodes and "kar_qahfak" in route.nodes
    assert route.length_km == pytest.approx(93.7)
    assert route.cum_min[-1] == pytest.approx(sum(
        network.minutes(u, v) for u, v in zip(route.nodes, route.nodes[1:], strict=False)))
    assert network.route("qamishli", "derik") is route  # cached


def test_detour_avoids_closed_roads_and_places_or_reports_none():
    """A closed road is routed around; a closed destination has no detour."""
    network = builtin_network()
    direct = network.route("jawadiyah", "derik")
    closed = {road_key("jct_girke_lege", "kar_qahfak")}
    detour = network.detour("jawadiyah", "derik", closed, set())
    assert detour is not None and "kar_qahfak" not in detour.nodes
    assert detour.free_flow_min > direct.free_flow_min
    assert network.detour("jawadiyah", "derik", set(), {"derik"}) is None


@pytest.mark.parametrize(("value", "highway", "kmh"), [
    ("50", "primary", 50.0),
    ("25 mph", "residential", 40.2336),
    ("['30', '50']", "secondary", 40.0),
    (None, "primary", 70.0),
    ("", "['residential', 'tertiary']", 30.0),
    ("signals", "unknown_class", 40.0),
])
def test_maxspeed_is_parsed_as_osm_writes_it(value, highway, kmh):
    """Numbers, mph, lists and missing values all give a speed in km/h."""
    assert parse_maxspeed(value, highway) == pytest.approx(kmh)


def test_an_osmnx_graphml_export_loads_with_its_quirks(tmp_path):
    """String attributes, metres, mph, parallel edges, one-way streets, a stray node."""
    graph = nx.MultiDiGraph()
    for node, (lat, lon) in {"1": (37.0, 42.0), "2": (37.0, 42.01), "3": (37.01, 42.01),
                             "9": (37.2, 42.2)}.items():
        graph.add_node(node, x=str(lon), y=str(lat))
    graph.add_edge("1", "2", length="1000.5", maxspeed="25 mph", highway="residential")
    graph.add_edge("2", "1", length="1000.5", highway="residential")  # no maxspeed
    graph.add_edge("1", "2", length="3000", maxspeed="60", highway="primary")  # slower parallel
    graph.add_edge("2", "3", length="1200", maxspeed="['30', '50']", highway="secondary")
    graph.add_edge("3", "1", length="1500", highway="['primary', 'secondary']", oneway="True")
    graph.add_edge("9", "1", length="900", highway="track")  # one-way dead end: not strongly
    path = tmp_path / "city.graphml"
    nx.write_graphml(graph, path)
    network = read_graphml(path)
    assert network.n_dropped == 1 and "9" not in network.graph
    assert network.length_km("1", "2") == pytest.approx(1.0005)
    assert network.graph.edges["1", "2"]["speed_kmh"] == pytest.approx(40.2336)  # fastest kept
    assert network.graph.edges["2", "1"]["speed_kmh"] == 30.0  # residential default
    assert not network.graph.has_edge("1", "3")  # one-way street stays one-way
    assert network.summary()["one_way_edges"] == 2  # 2->3 and 3->1


def test_a_disconnected_network_file_is_rejected(tmp_path):
    """Two equal islands: no component holds half the nodes."""
    nodes = line_nodes("abcd")
    path = write_graphml(tmp_path / "islands.graphml", nodes,
                         [("a", "b", 1, 50), ("c", "d", 1, 50)])
    with pytest.raises(InputError, match=r"islands\.graphml: network is disconnected"):
        read_graphml(path)


@pytest.mark.parametrize(("content", "message"), [
    ("", "is not readable GraphML"),
    ("<graphml><graph edgedefault='directed'></graph></graphml>", "is empty"),
    ("this is not xml", "is not readable GraphML"),
])
def test_an_empty_or_broken_network_file_is_rejected(tmp_path, content, message):
    """Empty or unparsable files give an error naming the file."""
    path = tmp_path / "broken.graphml"
    path.write_text(content)
    with pytest.raises(InputError, match=f"broken.graphml: network {message}"):
        read_graphml(path)


def test_network_files_without_coordinates_or_with_bad_lengths_are_rejected(tmp_path):
    """Each bad node and edge is named."""
    graph = nx.MultiDiGraph()
    graph.add_node("1", x="42.0", y="37.0")
    graph.add_node("2", name="no coordinates")
    graph.add_node("3", x="42.0", y="37.1")
    graph.add_edge("1", "3", length="-5")
    path = tmp_path / "bad.graphml"
    nx.write_graphml(graph, path)
    with pytest.raises(InputError) as err:
        read_graphml(path)
    text = str(err.value)
    assert "node 2 lacks numeric x/y" in text and "edge 1->3 length = -5 must be > 0" in text


def test_a_missing_network_file_is_named(tmp_path):
    """The path is in the message."""
    with pytest.raises(InputError, match=r"nowhere\.graphml: network does not exist"):
        read_graphml(tmp_path / "nowhere.graphml")


def _two_way_graphml(path: Path, maxspeed: str, length_m: str = "1000") -> Path:
    graph = nx.MultiDiGraph(crs="epsg:4326")
    for node, (lat, lon) in line_nodes("abc").items():
        graph.add_node(node, x=str(lon), y=str(lat))
    for u, v in (("a", "b"), ("b", "a"), ("b", "c"), ("c", "b")):
        graph.add_edge(u, v, length=length_m if (u, v) == ("a", "b") else "1000",
                       maxspeed=maxspeed if (u, v) == ("a", "b") else "50",
                       highway="secondary")
    nx.write_graphml(graph, path)
    return path


@pytest.mark.parametrize(("tag", "speed", "unread"), [
    ("[30", 30.0, False), ("['30', '5", 17.5, False), ("[[[", 60.0, True),
    ("signals", 60.0, True), ("1e400", 60.0, True), ("[None]", 60.0, True)])
def test_a_malformed_maxspeed_is_read_defensively_and_reported(tmp_path, tag, speed, unread,
                                                               run_cli):
    """``"[30"`` used to crash the reader with SyntaxError."""
    path = _two_way_graphml(tmp_path / "roads.graphml", tag)
    network = read_graphml(path)
    assert network.graph.edges["a", "b"]["speed_kmh"] == speed  # 60: secondary's default
    listed = network.summary()["unread_maxspeed"]
    assert listed == ([("a", "b", tag)] if unread else [])
    status, out, _ = run_cli("network", path)
    assert status == 0 and ("maxspeed unreadable on 1 edges (e.g. a->b" in out) == unread


@pytest.mark.parametrize("length", ["1e308", "inf", "nan", "-5", "0"])
def test_an_absurd_edge_length_is_refused_naming_the_edge(tmp_path, length):
    path = _two_way_graphml(tmp_path / "roads.graphml", "50", length)
    with pytest.raises(InputError, match=r"edge a->b.*length = .* must be > 0 and at most"):
        read_graphml(path)


def _planned_with_an_attribute(network, origin, factors):
    """The least-cost path by the old method: the weight written on a copy of the graph."""
    graph = nx.DiGraph(network.graph)
    for _, _, data in graph.edges(data=True):
        data["w"] = data["minutes"] * factors.get(data["road_class"], 1.0)
    return nx.single_source_dijkstra(graph, origin, weight="w")[1]


def test_a_route_preference_plans_the_routes_its_factors_say_without_writing_the_graph():
    """Tracks at 0.3 of their time: the same paths as weighting each edge, graph untouched."""
    network = builtin_network()
    weight = weight_name({"track": 0.3}, {})
    assert weight_name({}, {}) == "minutes"
    before = {(u, v): dict(d) for u, v, d in network.graph.edges(data=True)}
    expected = _planned_with_an_attribute(network, "qamishli", {"track": 0.3})
    plain = network.route("qamishli", "derik")
    preferred = network.route("qamishli", "derik", weight)
    assert list(preferred.nodes) == expected["derik"]
    assert preferred.nodes != plain.nodes  # the preference changes this route
    assert {(u, v): dict(d) for u, v, d in network.graph.edges(data=True)} == before
    with pytest.raises(nx.NetworkXError, match="Frozen"):
        network.graph.add_edge("derik", "qamishli")


def test_runs_share_a_read_network_and_its_routes_but_not_their_places(tmp_path):
    """Each load is a copy with its own places; planned routes are kept for the next run."""
    first, second = load_network(BUILTIN), load_network(BUILTIN)
    assert first is not second and first.graph is second.graph
    assert first.route("qamishli", "derik") is second.route("qamishli", "derik")
    first.add_place(Place("my_camp", "My camp", "base", 37.0, 42.1))
    assert first.has_place("my_camp") and not second.has_place("my_camp")
    assert not load_network(BUILTIN).has_place("my_camp")


def test_a_network_file_changed_between_runs_is_read_again(tmp_path):
    """The file's state is part of what is kept: an edited file gives the edited roads."""
    path = write_graphml(tmp_path / "town.graphml", line_nodes("abc"),
                         [("a", "b", 1.0, 50), ("b", "c", 1.0, 50)])
    assert load_network(path).route("a", "c").length_km == pytest.approx(2.0)
    write_graphml(path, line_nodes("abc"), [("a", "b", 1.0, 50), ("b", "c", 3.0, 50)])
    assert load_network(path).route("a", "c").length_km == pytest.approx(4.0)


def test_a_sweep_of_route_preferences_keeps_the_trees_of_only_the_latest():
    """Every factor a new weight: routes stay right while old trees are let go."""
    network = builtin_network()
    for i in range(MAX_WEIGHTS + 10):
        factors = {"track": 0.2 + 0.01 * i}
        route = network.route("qamishli", "derik", weight_name(factors, {}))
        assert list(route.nodes) == _planned_with_an_attribute(network, "qamishli",
                                                               factors)["derik"]
    assert len(network._routes) <= MAX_WEIGHTS + 1  # the latest preferences and minutes
