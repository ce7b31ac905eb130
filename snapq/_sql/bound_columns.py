"""Which column each bound parameter of a statement stands beside, so that
``ignore=["id"]`` covers ``users.id = :id_1`` and an ORM refresh's ``:pk_1``.

SQLAlchemy names parameters after a column (``id_1``), an ORM role (``pk_1``) or
nothing (``param_1``); users know the column. A parameter is bound to a column where
it is compared with it, or is its value in an INSERT or UPDATE.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

_BY_COMPILED: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def bound_columns(compiled: Any) -> dict[str, str]:
    """Return the column name each parameter of ``compiled`` is bound to, by the
    parameter's name as sent."""
    with contextlib.suppress(KeyError, TypeError):
        return _BY_COMPILED[compiled]
    found = _bound_columns(compiled)
    with contextlib.suppress(TypeError):  # not weakly referenceable: computed again
        _BY_COMPILED[compiled] = found
    return found


def _bound_columns(compiled: Any) -> dict[str, str]:
    from sqlalchemy.sql import visitors
    from sqlalchemy.sql.elements import BinaryExpression, BindParameter, Grouping

    names_of: dict[int, list[str]] = {}
    for name, bind in getattr(compiled, "binds", {}).items():
        if not name.startswith("%("):  # anonymous names are rendered under another
            names_of.setdefault(id(bind), []).append(name)
    found: dict[str, str] = {}
    statement = getattr(compiled, "statement", None)
    if statement is None:
        return found
    for element in visitors.iterate(statement):
        if not isinstance(element, BinaryExpression):
            continue
        sides = [_ungrouped(element.left, Grouping), _ungrouped(element.right, Grouping)]
        for side, other in (sides, sides[::-1]):
            column = getattr(other, "key", None) if not isinstance(other, BindParameter) else None
            if isinstance(side, BindParameter) and isinstance(column, str):
                for name in names_of.get(id(side), ()):
                    found.setdefault(name, column)
    return found


def _ungrouped(element: Any, grouping: type) -> Any:
    while isinstance(element, grouping):
        element = getattr(element, "element", None)
    return element
