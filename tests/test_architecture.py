"""The packages' shape: no import cycle, layers point down, the CLI loads the sandbox only to run it."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("fhir_rehab", "ehr_sandbox")


def project_modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_names(path: Path, module: str) -> Iterator[str]:
    """Every name `path` imports, wherever the import sits (top level, function, TYPE_CHECKING).

    `from package import name` gives "package.name": the module if it is one, else a name of
    the package (`import_graph` then counts the package).
    """
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports by name (a package's own __init__ excluded)."""
    modules = project_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for imported in imported_names(path, name):
            if imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported in modules and imported != name:
                graph[name].add(imported)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_any_modules() -> None:
    graph = import_graph()
    assert {"fhir_rehab.cli", "ehr_sandbox.app"} <= set(graph)  # both packages were read
    assert cycles(graph) == []


# Each layer and what it may import of the project (README "Layout"); layers only point down.
MAY_IMPORT = {
    "fhir_rehab.program": {"fhir_rehab.program", "fhir_rehab.errors", "fhir_rehab.codes"},
    "fhir_rehab.fhir": {"fhir_rehab.fhir", "fhir_rehab.errors"},
    "fhir_rehab.resources": {
        "fhir_rehab.resources",
        "fhir_rehab.fhir",
        "fhir_rehab.program",
        "fhir_rehab.codes",
        "fhir_rehab.errors",
    },
    "fhir_rehab.services": {
        "fhir_rehab.services",
        "fhir_rehab.resources",
        "fhir_rehab.fhir",
        "fhir_rehab.program",
        "fhir_rehab.codes",
        "fhir_rehab.errors",
    },
    "fhir_rehab.launch": {"fhir_rehab.launch", "fhir_rehab.fhir", "fhir_rehab.errors"},
    "ehr_sandbox": {"ehr_sandbox", "fhir_rehab.fhir"},
}


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_layers_import_only_what_they_may(layer: str) -> None:
    allowed = MAY_IMPORT[layer]
    wrong = sorted(
        f"{module} -> {imported}"
        for module, imports in import_graph().items()
        if module == layer or module.startswith(f"{layer}.")
        for imported in imports
        if not any(imported == ok or imported.startswith(f"{ok}.") for ok in allowed)
    )
    assert wrong == []


def test_fhir_rehab_never_names_the_sandbox_package() -> None:
    named = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "fhir_rehab").rglob("*")
        if path.is_file() and path.suffix in {".py", ".html", ".toml"} and "ehr_sandbox" in path.read_text()
    ]
    assert named == []
    graph = import_graph()
    assert not [m for m in graph if m.startswith("fhir_rehab") and any("ehr_sandbox" in i for i in graph[m])]


def test_help_imports_no_sandbox_module() -> None:
    code = (
        "import sys\n"
        "from fhir_rehab.cli import main\n"
        "assert main(['--help']) == 0\n"
        "print('LOADED', sorted(m for m in sys.modules if 'sandbox' in m))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "sandbox" in done.stdout and "demo" in done.stdout  # the commands are listed
    assert done.stdout.strip().endswith("LOADED []")
