"""Where everyone is at the model's current time: patrols, helicopters, civilians, standoffs.

Positions are computed on demand from each agent's route and timing (nothing is
moved tick by tick): a patrol or a trip on a road is placed by the share of the
road's travel time it has driven, a queued vehicle where it waits, a helicopter
along its flight or circling over its standoff. Used by the animation and the app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.core.model import PatrolModel


@dataclass(frozen=True)
class Snapshot:
    """Positions at one moment (degrees), one array per layer."""

    time_min: float
    patrol_lat: np.ndarray
    patrol_lon: np.ndarray
    patrol_force: list[str]
    patrol_kind: list[str]
    civilian_lat: np.ndarray
    civilian_lon: np.ndarray
    civilian_held: np.ndarray
    standoff_lat: np.ndarray
    standoff_lon: np.ndarray
    helicopter_lat: np.ndarray
    helicopter_lon: np.ndarray
    helicopter_force: list[str]


def _on_road(network, u: str, v: str, fraction: float) -> tuple[float, float]:
    return network.point_on_road(u, v, network.length_km(u, v) * min(max(fraction, 0.0), 1.0))


def patrol_position(model: PatrolModel, patrol) -> tuple[float, float]:
    """A patrol's (lat, lon): on its road, at its place, or at its standoff."""
    network, now = model.network, model.events.now
    if patrol.status == "standoff" and patrol.standoff is not None:
        return patrol.standoff.lat, patrol.standoff.lon
    if patrol.status == "moving":
        km = (now - patrol.road_enter) * patrol.road_km_per_min
        return network.point_on_road(patrol.road_from, patrol.road_to, km)
    node = patrol.route.nodes[patrol.index] if patrol.route is not None else patrol.base
    return network.lat(node), network.lon(node)


def trip_position(model: PatrolModel, trip) -> tuple[float, float]:
    """A civilian trip's (lat, lon) from its route's timing, or where it is queued."""
    network, now = model.network, model.events.now
    route, hold = trip.route, trip.hold
    if hold is not None:
        j = hold.index
        if hold.on_road_min > 0:
            u, v = route.nodes[j], route.nodes[j + 1]
            leg = route.cum_min[j + 1] - route.cum_min[j]
            return _on_road(network, u, v, 1.0 - hold.on_road_min / leg)
        return network.lat(route.nodes[j]), network.lon(route.nodes[j])
    elapsed = now - trip.route_start
    cum = route.cum_min
    j = max(0, min(int(np.searchsorted(cum, elapsed, side="right")) - 1, len(cum) - 2))
    leg = cum[j + 1] - cum[j]
    return _on_road(network, route.nodes[j], route.nodes[j + 1],
                    (elapsed - cum[j]) / leg if leg > 0 else 1.0)


def _circle(lat: float, lon: float, now: float) -> tuple[float, float]:
    """A point on a 1.5 km circle round (lat, lon), flown once every 4 minutes."""
    angle = 2 * math.pi * (now % 4.0) / 4.0
    return lat + 0.0135 * math.sin(angle), lon + 0.0169 * math.cos(angle)


def helicopter_position(model: PatrolModel, helicopter) -> tuple[float, float]:
    """A helicopter's (lat, lon): escorting, flying out, circling a standoff, or flying home."""
    now = model.events.now
    if helicopter.status == "escorting" and helicopter.escorting is not None:
        return _circle(*patrol_position(model, helicopter.escorting), now)
    if helicopter.status == "idle" or helicopter.target is None:
        return helicopter.lat, helicopter.lon
    lat1, lon1 = helicopter.target
    if helicopter.status == "flying":
        share = min(1.0, (now - helicopter.departed) / helicopter.flight_min) if (
            helicopter.flight_min > 0) else 1.0
        if share >= 1.0:  # overhead
            return _circle(lat1, lon1, now)
    else:  # returning from where it was to base
        share = 1.0 - min(1.0, (now - helicopter.departed) / max(helicopter.flight_min, 1e-9))
    return (helicopter.lat + share * (lat1 - helicopter.lat),
            helicopter.lon + share * (lon1 - helicopter.lon))


def snapshot(model: PatrolModel) -> Snapshot:
    """Everyone's position at the model's current time."""
    patrols = [p for p in model.sorties.all if p.status != "home"]
    trips = [t for flight in model.traffic.in_flight() for t in flight]
    trips += model.traffic.queued_trips()
    helicopters = [h for h in model.helicopters if h.status != "idle"]
    p = np.array([patrol_position(model, x) for x in patrols]).reshape(-1, 2)
    c = np.array([trip_position(model, t) for t in trips]).reshape(-1, 2)
    h = np.array([helicopter_position(model, x) for x in helicopters]).reshape(-1, 2)
    s = np.array([(x.lat, x.lon) for x in model.encounters.active]).reshape(-1, 2)
    return Snapshot(
        model.events.now, p[:, 0], p[:, 1], [x.force for x in patrols],
        [x.kind for x in patrols], c[:, 0], c[:, 1],
        np.array([t.hold is not None for t in trips], dtype=bool), s[:, 0], s[:, 1],
        h[:, 0], h[:, 1], [x.force for x in helicopters])
