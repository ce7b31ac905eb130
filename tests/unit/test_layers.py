"""The package's layers, kept apart: what each part of snapq may import.

Read from the source, so every import counts: at module level, inside functions,
and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "snapq"
# Only these use pytest: the plugin's hooks, its fixtures (sync and async), and the
# hook specifications.
PYTEST_USERS = {"snapq.plugin", "snapq._fixtures", "snapq._async_fixtures", "snapq._hookspecs"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(module: str) -> set[str]:
    """Return every module that ``module``'s source imports."""
    tree = ast.parse(MODULES[module].read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{module}: relative import"
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def modules_of(package: str) -> list[str]:
    return [module for module in MODULES if in_package(module, package)]


def test_the_layers_exist() -> None:
    """Guard the rules below against a package that moved and left them checking nothing."""
    for package in ("snapq._sql", "snapq._snapshots", "snapq._database"):
        assert len(modules_of(package)) >= 4, package
    assert set(MODULES) >= PYTEST_USERS


@pytest.mark.parametrize("module", modules_of("snapq._snapshots"))
def test_the_snapshot_layer_imports_neither_pytest_nor_sqlalchemy(module: str) -> None:
    banned = {
        name
        for name in imports(module)
        if in_package(name, "pytest")
        or in_package(name, "_pytest")
        or in_package(name, "sqlalchemy")
    }
    assert not banned, f"{module} imports {sorted(banned)}"


@pytest.mark.parametrize("module", modules_of("snapq._database") + modules_of("snapq._sql"))
def test_the_database_layer_and_the_sql_path_never_import_the_snapshot_layer(module: str) -> None:
    banned = {name for name in imports(module) if in_package(name, "snapq._snapshots")}
    assert not banned, f"{module} imports {sorted(banned)}"


@pytest.mark.parametrize("module", modules_of("snapq._database"))
def test_the_database_layer_never_imports_the_sql_path(module: str) -> None:
    banned = {name for name in imports(module) if in_package(name, "snapq._sql")}
    assert not banned, f"{module} imports {sorted(banned)}"


@pytest.mark.parametrize("module", sorted(set(MODULES) - PYTEST_USERS))
def test_only_the_plugin_imports_pytest(module: str) -> None:
    banned = {
        name
        for name in imports(module)
        if in_package(name, "pytest") or in_package(name, "_pytest")
    }
    assert not banned, f"{module} imports {sorted(banned)}"


def test_the_checks_see_imports_inside_functions() -> None:
    """The SQL path imports SQLAlchemy late, inside functions: the parser must see it."""
    assert "sqlalchemy" in imports("snapq._sql.connection")
