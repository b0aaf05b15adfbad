"""``sim run``, ``scenarios``, ``network``, ``validate``: one run, and checking inputs."""

from __future__ import annotations

import argparse
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from sim.errors import InputError


def parse_value(text: str) -> Any:
    """A ``--set`` value as TOML reads it (numbers, booleans, lists, quoted strings), else text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["forces.US.posture.block=0.5"]`` → ``{"forces.US.posture.block": 0.5}``."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError.single("command line", "--set", f"= {item!r} is not NAME=VALUE",
                                    "e.g. --set forces.US.posture.block=0.5")
        out[name.strip()] = parse_value(value.strip())
    return out


def default_run_folder(name: str, seed: int, overrides: dict[str, Any]) -> Path:
    """``runs/<scenario>-seed<seed>``, then ``-<days>d`` and ``-set<hash>`` when overridden.

    Two runs that differ in their length or overrides never share a default folder.
    """
    rest = {k: v for k, v in overrides.items() if k != "days"}
    folder = f"{name}-seed{seed}"
    if "days" in overrides:
        folder += f"-{overrides['days']:g}d"
    if rest:
        digest = hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode())
        folder += f"-set{digest.hexdigest()[:8]}"
    return Path("runs") / folder


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario and write its logs."""
    from sim.core.model import PatrolModel, resolve_seed
    from sim.io.atomic import check_writable
    from sim.io.results import RunResult, check_out_folder
    from sim.io.summary import summary_lines
    from sim.scenario.overrides import run_options

    days, seed, overrides = run_options(parse_overrides(args.set), args.days, args.seed,
                                        "command line (--set)")
    seed = resolve_seed(seed)
    model = PatrolModel(args.scenario, rng=seed, days=days, **overrides)
    out = (Path(args.out) if args.out
           else default_run_folder(model.spec.name, seed, model.overrides))
    check_out_folder(out, replace=args.force)  # before the run, not only when writing
    check_writable(out)
    if args.seed is None:
        print(f"seed {seed} (drawn; pass --seed {seed} to repeat this run)")
    model.run_model()
    result = RunResult.from_model(model)
    result.write(out, csv=args.csv)
    if not args.quiet:
        spec = model.spec
        print(f"{spec.name}: {spec.title}")
        changed = {k: v for k, v in model.overrides.items() if k != "days"}  # days: next line
        if changed:
            print("with " + ", ".join(f"{k} = {v!r}" for k, v in changed.items()))
        print(f"seed {seed}, {spec.days:g} days from {spec.start:%Y-%m-%d}")
        for line in summary_lines(result.summary):
            print(line)
    print(f"wrote {out}/ (standoffs, trips, missions, timeseries, run.json)")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    """List the shipped scenarios, one line each."""
    from sim.scenario.loading import read_raw, shipped_scenarios

    for name, path in shipped_scenarios().items():
        print(f"{name:<22} {read_raw(path).get('title', '')}")
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    """Validate and summarise a network (the built-in one by default)."""
    from sim.io.networks import load_network

    network = load_network(args.file or "builtin")
    s = network.summary()
    print(f"network: {s['source']}")
    print(f"  nodes {s['nodes']:,}, named places {s['places']}", end="")
    print(f" ({', '.join(f'{n} {k}' for k, n in s['places_by_kind'].items())})"
          if s["places_by_kind"] else "")
    print(f"  roads {s['roads']:,} ({s['road_km']:,} km), one-way edges {s['one_way_edges']:,}")
    print(f"  by class: {', '.join(f'{k} {n}' for k, n in s['roads_by_class'].items())}")
    lat0, lon0, lat1, lon1 = s["bbox"]
    print(f"  extent: lat {lat0:.4f} to {lat1:.4f}, lon {lon0:.4f} to {lon1:.4f}")
    if s["dropped_nodes"]:
        print(f"  dropped {s['dropped_nodes']:,} nodes outside the largest strongly "
              "connected component")
    if s["unread_maxspeed"]:
        u, v, value = s["unread_maxspeed"][0]
        print(f"  maxspeed unreadable on {len(s['unread_maxspeed']):,} edges (e.g. {u}->{v}: "
              f"{value!r}); their road class's speed is used")
    print("  ok: connected, lengths and speeds positive")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files (schema, places, forces) without running them."""
    from sim.scenario.binding import build_network
    from sim.scenario.inert import inert_settings
    from sim.scenario.loading import load_scenario

    for ref in args.scenarios:
        spec, path = load_scenario(ref, parse_overrides(args.set))
        network = build_network(spec, path)
        print(f"ok: {path.name} ({spec.name}: {len(spec.forces)} forces, "
              f"{len(spec.missions)} missions, {len(spec.villagers)} villager communities)")
        for warning in inert_settings(spec, network):
            print(f"  warning: {warning}")
    return 0


def add_parsers(sub: Any) -> None:
    """The subcommands of this module."""
    run = sub.add_parser("run", help="run a scenario and write its logs")
    run.add_argument("scenario", help="a shipped scenario's name (see `sim scenarios`) or a "
                     "TOML file")
    run.add_argument("--seed", type=int, help="the run's seed (drawn and printed if omitted)")
    run.add_argument("--days", type=float, help="override the scenario's number of days")
    run.add_argument("--out", help="output folder (default runs/<scenario>-seed<seed>, then "
                     "-<days>d and -set<hash> when --days or --set is given)")
    run.add_argument("--force", action="store_true",
                     help="replace the output folder if it already holds a run")
    run.add_argument("--csv", action="store_true", help="also write CSV copies of the logs")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="override a scenario parameter by dotted name, e.g. "
                     "forces.US.posture.block=0.5 (repeatable)")
    run.add_argument("-q", "--quiet", action="store_true", help="print no summary")
    run.set_defaults(func=cmd_run)

    scen = sub.add_parser("scenarios", help="list the shipped scenarios")
    scen.set_defaults(func=cmd_scenarios)

    net = sub.add_parser("network", help="validate and summarise a road network")
    net.add_argument("file", nargs="?", help="a GraphML file (default: the built-in network)")
    net.set_defaults(func=cmd_network)

    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("scenarios", nargs="+", help="scenario names or files")
    val.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    val.set_defaults(func=cmd_validate)
