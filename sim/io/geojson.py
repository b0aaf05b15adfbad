"""Export a run as GeoJSON (RFC 7946, WGS84 lon/lat) for GIS tools.

``network.geojson``: roads as LineStrings (class, length, speed, and the standoffs
and civilian delay each one's closures caused) and places as Points;
``standoffs.geojson``: standoffs as Points with every column of the log;
``trips.geojson``: civilian trips as LineStrings along the route they planned
(their free-flow route), with every column of the log.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from sim.core.network import road_key
from sim.io.atomic import write_text
from sim.io.results import RunResult
from sim.io.summary import delay_by_gate


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def network_features(run: RunResult) -> list[dict]:
    """Roads (with their standoffs and delay) and places."""
    network = run.network()
    roads, places = delay_by_gate(run.standoffs)
    counts = run.standoffs[run.standoffs["road"] != ""]["road"].value_counts()
    features, seen = [], set()
    for u, v, data in network.graph.edges(data=True):
        key = road_key(u, v)
        if key in seen:
            continue
        seen.add(key)
        name = "--".join(key)
        features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [
            [network.lon(u), network.lat(u)], [network.lon(v), network.lat(v)]]},
            "properties": {"road": name, "name": data["road"], "class": data["road_class"],
                           "length_km": data["length_km"], "speed_kmh": data["speed_kmh"],
                           "standoffs": int(counts.get(name, 0)),
                           "delay_vehicle_h": roads.get(key, 0.0)}})
    for place in network.places.values():
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
            place.lon, place.lat]}, "properties": {
            "place": place.id, "name": place.name, "kind": place.kind,
            "population": place.population, "force": place.force, "country": place.country,
            "delay_vehicle_h": places.get(place.id, 0.0)}})
    return features


def export_geojson(result: RunResult | str | Path, out: str | Path | None = None) -> list[Path]:
    """Write ``network``, ``standoffs`` and ``trips`` GeoJSON files (default ``FOLDER/geojson``)."""
    folder = None if isinstance(result, RunResult) else Path(result)
    run = RunResult.coerce(result)
    out = Path(out) if out else (folder or Path(".")) / "geojson"
    out.mkdir(parents=True, exist_ok=True)
    network = run.network()
    standoffs = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [
        row["lon"], row["lat"]]}, "properties": {k: _plain(v) for k, v in row.items()}}
        for row in run.standoffs.to_dict("records")]
    trips = []
    for row in run.trips.to_dict("records"):
        route = network.route(network.node_of(row["origin"]), network.node_of(row["destination"]))
        trips.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [
            [network.lon(n), network.lat(n)] for n in route.nodes]},
            "properties": {k: _plain(v) for k, v in row.items()}})
    written = []
    for name, features in (("network", network_features(run)), ("standoffs", standoffs),
                           ("trips", trips)):
        path = out / f"{name}.geojson"
        write_text(path, json.dumps(_collection(features), separators=(",", ":")))
        written.append(path)
    return written
