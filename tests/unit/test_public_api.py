from __future__ import annotations

import builtins
import re
import subprocess
import sys
import traceback
import types
from pathlib import Path

import pytest

import snapq
import snapq._errors


def public_names() -> set[str]:
    """Names bound in snapq/__init__.py that are neither private nor modules."""
    return {
        name
        for name, value in vars(snapq).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and type(value).__module__ != "__future__"  # from __future__ import ...
    }


def test_snapq_is_the_regular_package() -> None:
    """A stale editable install makes ``snapq`` a namespace package without these names."""
    location = getattr(snapq, "__file__", None)
    assert location is not None, f"snapq is a namespace package: {snapq.__path__}"
    assert Path(location).name == "__init__.py"


def test_all_is_sorted() -> None:
    assert snapq.__all__ == sorted(snapq.__all__)


def test_all_lists_exactly_the_public_names() -> None:
    assert len(set(snapq.__all__)) == len(snapq.__all__)
    assert set(snapq.__all__) == public_names()


def test_every_exported_exception_is_a_snapq_error() -> None:
    exceptions = [
        getattr(snapq, name)
        for name in snapq.__all__
        if isinstance(getattr(snapq, name), type)
        and issubclass(getattr(snapq, name), BaseException)
    ]
    assert snapq.SnapqError in exceptions
    for exception in exceptions:
        assert issubclass(exception, snapq.SnapqError), exception


def test_every_error_class_is_exported() -> None:
    defined = {
        name
        for name, value in vars(snapq._errors).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    assert defined <= set(snapq.__all__)


@pytest.mark.parametrize(
    ("error", "bases"),
    [
        ("SnapqError", ("Exception",)),
        ("ConfigError", ("SnapqError", "ValueError")),
        ("ProvisioningError", ("SnapqError", "RuntimeError")),
        ("PostgresNotFoundError", ("ProvisioningError",)),
        ("ServerStartError", ("ProvisioningError",)),
        ("ServerUnreachableError", ("ProvisioningError",)),
        ("SetupHookError", ("SnapqError", "RuntimeError")),
        ("IsolationError", ("SnapqError", "RuntimeError")),
    ],
)
def test_exception_hierarchy(error: str, bases: tuple[str, ...]) -> None:
    expected = tuple(getattr(snapq, base, None) or getattr(builtins, base) for base in bases)
    assert getattr(snapq, error).__bases__ == expected


def test_config_error_is_caught_as_value_error_and_snapq_error() -> None:
    for caught in (ValueError, snapq.SnapqError):
        with pytest.raises(caught):
            raise snapq.ConfigError("bad")
    assert not issubclass(snapq.ConfigError, RuntimeError)
    assert not issubclass(snapq.ProvisioningError, ValueError)


TREE_LINE = re.compile(r"^(?P<indent>(?:│   |    )*)[├└]── (?P<name>\w+)(?: \((?P<extra>\w+)\))?")


def docstring_tree() -> dict[str, tuple[str, ...]]:
    """Map each class in the tree drawn in _errors.py's docstring to the bases drawn."""
    assert snapq._errors.__doc__ is not None
    lines = snapq._errors.__doc__.split("::", 1)[1].strip("\n").splitlines()
    root = lines[0].strip()
    parents = [root]
    drawn: dict[str, tuple[str, ...]] = {root: ("Exception",)}
    for line in lines[1:]:
        match = TREE_LINE.match(line.strip("\n")[4:])
        if match is None:
            continue
        depth = len(match["indent"]) // 4 + 1
        del parents[depth:]
        drawn[match["name"]] = (parents[-1], *filter(None, [match["extra"]]))
        parents.append(match["name"])
    return drawn


def test_hierarchy_matches_the_docstring_tree() -> None:
    drawn = docstring_tree()
    defined = {
        name
        for name, value in vars(snapq._errors).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    assert set(drawn) == defined
    actual = {
        name: tuple(base.__name__ for base in getattr(snapq._errors, name).__bases__)
        for name in drawn
    }
    assert actual == drawn


def test_docstring_tree_names_builtin_bases() -> None:
    for bases in docstring_tree().values():
        for base in bases:
            assert hasattr(snapq._errors, base) or isinstance(getattr(builtins, base), type)


def test_import_snapq_loads_neither_the_plugin_nor_sqlalchemy(tmp_path: Path) -> None:
    code = (
        "import snapq; import sys; "
        "print(hasattr(snapq, 'SnapqError'), 'snapq.plugin' in sys.modules, "
        "'sqlalchemy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert result.stdout.split() == ["True", "False", "False"]


@pytest.mark.parametrize(
    "name", [name for name in snapq.__all__ if isinstance(getattr(snapq, name), type)]
)
def test_public_classes_print_under_the_package_name(name: str) -> None:
    public = getattr(snapq, name)
    assert f"{public.__module__}.{public.__qualname__}" == f"snapq.{name}"


def test_a_public_error_in_a_traceback_names_the_package() -> None:
    error = snapq.IsolationError("the test committed")
    shown = "".join(traceback.format_exception_only(type(error), error))
    assert shown == "snapq.IsolationError: the test committed\n"
