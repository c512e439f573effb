"""The shape of app/: the desktop app never imports the command line, and the command line's modules form no cycle.

Read from the source with ast (nothing is imported), so a deferred import inside a function counts as much as one at
the top: hiding an import in a function must not hide a cycle or a GUI that reaches into the CLI.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

APP = REPO / "app"


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, package: str) -> Iterator[str]:
    """Every module ``path`` (in ``package``) imports, anywhere in it: ``from a import b`` yields ``a`` and ``a.b``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                parts = package.split(".")
                base = ".".join([*parts[:len(parts) - node.level + 1], *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _imports_of(path: Path) -> set[str]:
    module = _module(path)
    return set(_imports(path, module if path.name == "__init__.py" else module.rpartition(".")[0]))


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph`` (module -> the modules it imports) as a path that ends where it starts."""
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> list[str] | None:
        if name in trail:
            return [*trail[trail.index(name):], name]
        if name in done:
            return None
        for target in sorted(graph.get(name, ())):
            found = visit(target, [*trail, name])
            if found:
                return found
        done.add(name)
        return None

    return next((found for name in sorted(graph) if (found := visit(name, []))), None)


def _is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_no_gui_module_imports_the_cli() -> None:
    offenders = [f"{_module(path)} imports {name}" for path in sorted((APP / "gui").rglob("*.py"))
                 for name in sorted(_imports_of(path)) if _is_under(name, "app.cli")]
    assert offenders == []


def test_the_cli_package_has_no_import_cycle() -> None:
    modules = {_module(path): path for path in sorted((APP / "cli").rglob("*.py"))}
    assert "app.cli" in modules and len(modules) > 2  # the package is there: an empty walk would prove nothing
    graph = {name: {m for m in _imports_of(path) if m in modules and m != name} for name, path in modules.items()}
    assert _cycle(graph) is None


def test_the_checks_see_deferred_relative_imports_and_cycles(tmp_path: Path) -> None:
    """An import inside a function counts, a relative one is resolved, and a cycle is found."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from . import answers\n    from app.cli import index\n", encoding="utf-8")
    assert {"app.cli.answers", "app.cli.index"} <= set(_imports(source, "app.cli"))
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
