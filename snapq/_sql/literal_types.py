"""The types PostgreSQL gives literals, against those their parameters were sent
with: where a display literal needs a cast to mean what the parameter did.

Pure: SQLAlchemy's elements and Python values in, decisions out.

A parameter reaches the server typed: by the cast SQLAlchemy writes after it
(``%(p)s::INTEGER``), else by the type psycopg sends its value as (a float as
float8). A literal in its place is typed by PostgreSQL's reading of it: ``5`` is
an int4, ``2.5`` a numeric, ``'x'`` and NULL are of no type yet. ``needs_cast``
says where the two differ in what the statement does.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

ASSIGNED = "assigned"  # a value of INSERT or UPDATE: stored into its column's type
_COMPARED = "compared"  # an operand of a comparison with a typed expression
_OPERAND = "operand"  # an operand of another operator with a typed expression
_MISMATCHED = "mismatched"  # compared with an expression of another type
_INTEGERS = ("int2", "int4", "int8")
_NUMBERS = frozenset({*_INTEGERS, "numeric", "float4", "float8"})
_STRINGS = frozenset({"unknown", "text", "varchar"})
_BOUNDS = {"int2": 2**15, "int4": 2**31, "int8": 2**63}
# Sent type names (as SQLAlchemy's PostgreSQL compiler writes them) by their type.
_KINDS = {
    "SMALLINT": "int2",
    "INTEGER": "int4",
    "INT": "int4",
    "BIGINT": "int8",
    "NUMERIC": "numeric",
    "REAL": "float4",
    "FLOAT": "float8",
    "DOUBLE PRECISION": "float8",
    "BOOLEAN": "bool",
    "TEXT": "text",
    "VARCHAR": "varchar",
}
_QUOTED = re.compile(r"E?'(?:[^']|'')*'")
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Sent:
    """The type a parameter was sent with: as ``own_type`` names types, and as SQL."""

    kind: str
    name: str


@dataclass(frozen=True)
class Typing:
    """How a bind parameter was typed as sent, whatever its value: by SQLAlchemy's
    cast (else by psycopg, from the value), and where it stands."""

    cast: Sent | None
    place: str | None
    float_bind: bool  # its own type is a float's
    typed_after: bool = False  # SQLAlchemy writes the cast after the literal itself


def needs_cast(
    own: str | None, literal: str, sent: Sent, place: str | None, *, float_bind: bool
) -> bool:
    """Whether ``literal`` (of type ``own``, see ``own_type``) needs a cast to ``sent``
    to mean what the parameter did, where it stands (``place``).

    A cast is needed where the literal alone is of another type and its place does
    not give it the parameter's: a float (sent as float8, read as numeric: ``ROUND(2.5)``
    rounds the other way), an integer outside the sent type (the statement must fail
    as sent), a quoted string for a date, time or UUID where no typed expression
    meets it, and any literal compared with an expression of another type than
    its own (``timestamp = varchar`` fails; ``timestamp = '...'`` would not). Not
    for strings elsewhere (a quoted string is any string type), nor for a literal a
    typed expression meets (``users.id = 5``, ``born = '2024-01-02'``: PostgreSQL
    gives it that expression's type), nor for an integer read as a wider integer
    type than sent, where it meets a typed one (int4 and int8 compare and add the
    same; int2 arithmetic does not: ``smallint + smallint`` overflows).
    """
    if own is None or own == sent.kind:
        return False
    if place == _MISMATCHED:
        return True
    if own == "unknown":
        return sent.kind not in _STRINGS and place is None
    return _number_needs_cast(literal, own, sent, place, float_bind=float_bind)


def _number_needs_cast(
    literal: str, own: str, sent: Sent, place: str | None, *, float_bind: bool
) -> bool:
    if own in _INTEGERS and sent.kind in _INTEGERS:
        if not -_BOUNDS[sent.kind] <= int(literal) < _BOUNDS[sent.kind]:
            return True  # the statement must fail as sent
        return place is None or (place == _OPERAND and sent.kind == "int2")
    if own in _INTEGERS and sent.kind in {"numeric", "float8"}:
        return place is None  # a typed number meets it: computed in that type
    if own == "numeric" and sent.kind == "float8":
        # numeric converts exactly to float8, where a float meets it; a numeric
        # column would compare in numeric instead.
        return place is None or not float_bind
    return True


def array_needs_cast(own: str | None, sent: Sent, place: str | None) -> bool:
    """Whether ``ARRAY[...]`` (of elements of type ``own``) needs a cast to ``sent``.

    An array literal is typed by its elements (``ARRAY['red']`` is text[], which a
    varchar[] column cannot be compared with) wherever it stands; only stored into
    a column of the same category of type (strings, numbers) does it convert.
    """
    if own is None:
        return True  # ARRAY[] has no type at all
    if own == sent.kind:
        return False
    elements = {own.removesuffix("[]"), sent.kind.removesuffix("[]")}
    return place != ASSIGNED or not (elements <= _STRINGS or elements <= _NUMBERS)


def own_type(literal: str) -> str | None:
    """Return the type PostgreSQL reads ``literal`` as on its own: ``unknown`` for a
    quoted string or NULL (typed by where it stands), a number's type, or None for
    what names its type itself (a cast, a function call)."""
    if literal == "NULL" or _QUOTED.fullmatch(literal):
        return "unknown"
    if _INTEGER.fullmatch(literal):
        return _integer_type(int(literal))
    if _DECIMAL.fullmatch(literal):
        return "numeric"
    if literal in {"true", "false"}:
        return "bool"
    return None


def _integer_type(number: int) -> str:
    """Return the type of an integer literal: the first of int4, int8 that holds it."""
    for name in ("int4", "int8"):
        if -_BOUNDS[name] <= number < _BOUNDS[name]:
            return name
    return "numeric"


def array_type(values: Sequence[Any]) -> str | None:
    """Return the type of ``ARRAY[...]`` of ``values`` (nested lists flattened), or
    None where PostgreSQL cannot tell one (no elements, mixed kinds)."""
    flat: list[Any] = []
    pending = list(values)
    while pending:
        value = pending.pop()
        if isinstance(value, list | tuple):
            pending.extend(value)
        else:
            flat.append(value)
    if not flat:
        return None
    kinds = {_element_type(value) for value in flat if value is not None} or {"text"}
    order = ["int4", "int8", "numeric"]
    if kinds <= set(order):
        return max(kinds, key=order.index) + "[]"
    return f"{kinds.pop()}[]" if len(kinds) == 1 else None


def _element_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | decimal.Decimal):
        return own_type(str(value)) or "numeric"  # as SQLAlchemy writes it
    return "text"  # quoted: an array of unknowns is text[]


def kind(name: str) -> str:
    """Return the type a cast names as ``own_type`` names types (``int4``,
    ``varchar[]``), or the name itself for the others."""
    element = name.rstrip("[]")  # PostgreSQL's array types have no dimensions
    suffix = "[]" if element != name else ""
    return _KINDS.get(element.upper(), element) + suffix


def dumped_type(value: Any) -> Sent | None:
    """Return the type psycopg sends ``value`` as, where SQLAlchemy wrote no cast;
    None for an untyped one (a string, None), which a quoted literal is too."""
    if isinstance(value, bool):
        return Sent("bool", "BOOLEAN")
    if isinstance(value, int):
        # psycopg sends the smallest type that holds it (int2 for most); a literal
        # is an int4 at least, which every use but int2 overflow treats the same.
        return Sent(_integer_type(value), "NUMERIC")
    if isinstance(value, datetime.datetime | datetime.time):
        base = "TIMESTAMP" if isinstance(value, datetime.datetime) else "TIME"
        name = f"{base} WITH{'' if value.tzinfo else 'OUT'} TIME ZONE"
        return Sent(name, name)
    for class_, kind, name in _DUMPED:
        if isinstance(value, class_):
            return Sent(kind, name)
    return None


_DUMPED = (
    (float, "float8", "DOUBLE PRECISION"),
    (decimal.Decimal, "numeric", "NUMERIC"),
    (datetime.date, "DATE", "DATE"),
    (datetime.timedelta, "INTERVAL", "INTERVAL"),
    (uuid.UUID, "UUID", "UUID"),
)


def places_in(binary: Any) -> Iterator[tuple[Any, str]]:
    """Yield the bind parameters that are operands of ``binary`` and meet a typed
    expression there (a column, a function: not another literal), with their place."""
    from sqlalchemy.sql import operators
    from sqlalchemy.sql.elements import BindParameter, ClauseList, ExpressionClauseList
    from sqlalchemy.types import NullType

    comparison = operators.is_comparison(binary.operator)
    between = binary.operator in (operators.between_op, operators.not_between_op)
    for one, two in ((binary.left, binary.right), (binary.right, binary.left)):
        side, other = _ungrouped(one), _ungrouped(two)
        if isinstance(other, BindParameter) or isinstance(other.type, NullType):
            continue
        # BETWEEN's bounds come as one list of two.
        many = between and isinstance(side, ClauseList | ExpressionClauseList)
        for operand in map(_ungrouped, side.clauses if many else [side]):
            if not isinstance(operand, BindParameter):
                continue
            if operand.type._compare_type_affinity(other.type):
                yield operand, _COMPARED if comparison else _OPERAND
            elif comparison:
                yield operand, _MISMATCHED


def _ungrouped(element: Any) -> Any:
    from sqlalchemy.sql.elements import Grouping

    while isinstance(element, Grouping):
        element = element.element
    return element


def own_scalar(type_: Any, value: Any) -> str | None:
    if isinstance(value, float | decimal.Decimal):
        return _non_finite(value)
    if isinstance(value, datetime.timedelta):
        from sqlalchemy.sql.sqltypes import _AbstractInterval

        return _interval(value) if isinstance(type_, _AbstractInterval) else None
    return None


def _interval(value: datetime.timedelta) -> str:
    """Write an interval as psycopg sends it: days and seconds apart (``1 day`` is
    not ``24:00:00`` where a day has 23 hours)."""
    seconds = f"{value.seconds}.{value.microseconds:06d}".rstrip("0").rstrip(".")
    parts = [f"days => {value.days}"] if value.days else []
    parts += [f"secs => {seconds}"] if seconds != "0" else []
    return f"make_interval({', '.join(parts)})"


def _non_finite(value: float | decimal.Decimal) -> str | None:
    """Write NaN, the infinities and float's -0 as strings (SQLAlchemy writes ``nan``,
    a name, and ``-0.0``, which is numeric's 0); ``_typed`` gives them their type."""
    if math.isnan(value):
        return "'NaN'"
    if math.isinf(value):
        return "'Infinity'" if value > 0 else "'-Infinity'"
    if isinstance(value, float) and value == 0 and math.copysign(1, value) < 0:
        return "'-0'"
    return None
