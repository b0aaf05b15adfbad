"""The architecture, frozen: layers import downwards only; nothing calls back into the model."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sim"

#: What each layer must never import (directly, anywhere in a module, lazily included).
FORBIDDEN = {
    "core": ("sim.io", "sim.experiments", "sim.viz", "sim.api", "sim.cli"),
    "agents": ("sim.io", "sim.experiments", "sim.viz", "sim.api", "sim.cli"),
    "scenario": ("sim.experiments", "sim.viz", "sim.api", "sim.cli", "sim.agents"),
    "io": ("sim.experiments", "sim.viz", "sim.cli"),
    "experiments": ("sim.viz", "sim.cli"),
    "viz": ("sim.experiments", "sim.cli"),
}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def python(code: str) -> str:
    """What ``code`` prints in a fresh interpreter."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_from_the_layers_above_it(layer):
    """Core and agents import neither io, experiments nor viz; viz does not import experiments."""
    offences = [f"{path.relative_to(PACKAGE.parent)} imports {name}"
                for path in sorted((PACKAGE / layer).glob("*.py"))
                for name in sorted(imports_of(path))
                if any(_within(name, banned) for banned in FORBIDDEN[layer])]
    assert offences == []


def test_the_tree_shows_the_layers():
    """Every module lives in a layer's folder, except the entry points."""
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "api.py", "errors.py"}
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == {
        "core", "agents", "scenario", "io", "experiments", "viz", "cli", "data"}


def test_running_a_model_loads_neither_matplotlib_nor_the_upper_layers():
    """The core runs without results, experiments or figures (a fresh interpreter)."""
    code = (
        "import sys\n"
        "from sim.core.model import PatrolModel\n"
        "m = PatrolModel('derik-june-2020', rng=1, days=1)\n"
        "m.run_model()\n"
        "upper = ('sim.experiments', 'sim.viz', 'sim.io.results', 'sim.io.summary', 'sim.api')\n"
        "loaded = [n for n in sys.modules if n.split('.')[0] == 'matplotlib' or "
        "n.startswith(upper)]\n"
        "print(sorted(loaded))\n"
    )
    assert python(code).strip() == "[]"


def _model_accesses(path: Path) -> list[str]:
    """``self.model.<x>`` and ``model.<x>`` reads in a file (Mesa's registry aside)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            if node.value.attr == "model" and isinstance(node.value.value, ast.Name):
                found.append(f"{path.name}:{node.lineno} {node.value.value.id}.model.{node.attr}")
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == "model"):
            found.append(f"{path.name}:{node.lineno} model.{node.attr}")
    return found


def test_agents_and_components_never_call_back_into_the_model():
    """They receive what they need and report through callbacks; only model.py wires."""
    files = [p for p in sorted((PACKAGE / "agents").glob("*.py"))]
    files += [p for p in sorted((PACKAGE / "core").glob("*.py")) if p.name != "model.py"]
    assert [hit for path in files for hit in _model_accesses(path)] == []


def test_the_public_api_works_right_after_import_sim():
    """``sim.plot``, ``sim.sweepplot``, ``sim.analyze``, ``sim.ema`` and ``sim.sweep`` resolve."""
    code = (
        "import sim\n"
        "print(callable(sim.run), callable(sim.sweep), callable(sim.plot.standoff_map),\n"
        "      callable(sim.sweepplot.response), callable(sim.analyze.sobol),\n"
        "      callable(sim.ema.model), callable(sim.read_sweep),\n"
        "      sim.ScenarioError is sim.InputError, sim.PatrolModel.__name__,\n"
        "      sim.RunResult.__name__, callable(sim.load_scenario))\n"
    )
    assert python(code).split() == ["True"] * 8 + ["PatrolModel", "RunResult", "True"]


def test_the_readmes_module_map_names_every_module_once():
    """Each module of the package has its line in the README's map, and no line is stale."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("```\nsim/\n"):]
    block = block[:block.index("\n```", 4)]
    listed = sorted(re.findall(r"\b([a-z_]+\.py)\b", block))
    modules = sorted(p.name for p in PACKAGE.rglob("*.py")
                     if p.name not in ("__init__.py", "__main__.py") and "data" not in p.parts)
    assert listed == modules


def test_import_sim_and_the_cli_load_no_heavy_library():
    """``import sim`` and ``sim --help`` answer at once: pandas, Mesa, SciPy, matplotlib wait."""
    code = (
        "import sys\n"
        "import sim\n"
        "from sim.cli import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = ('pandas', 'mesa', 'scipy', 'matplotlib', 'networkx', 'pyarrow', 'dask', "
        "'SALib', 'pyabc', 'solara')\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & set(heavy)))\n"
    )
    assert python(code).strip() == "[]"
