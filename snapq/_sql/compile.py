"""Compile a SQLAlchemy statement to the PostgreSQL text shown in snapshots.

Display SQL shows what was sent: the statement is compiled with the values that
reached the cursor (so Python-side column defaults added at execution appear), as
literals. SQLAlchemy writes most; snapq writes JSON (which it cannot) and bytes
(which it writes as text, wrongly) as casts of strings, and strings of types it has
no literal for (INET...) as plain strings, untyped as psycopg sends them. Any other
value (a range, an array of JSON, a custom type) stays a placeholder and is listed
after the statement. It uses the ``named`` paramstyle, since with ``pyformat`` every
``%`` would come out doubled.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import Dialect
    from sqlalchemy.sql.compiler import Compiled


@dataclass
class _Rendering:
    """What the display compiler needs for one compilation, which SQLAlchemy's
    compile() has no argument to carry."""

    values: Mapping[str, Any]  # by bind parameter name
    json_dumps: Callable[[Any], str]  # the engine's json_serializer, else json.dumps
    unrendered: dict[str, Any] = field(default_factory=dict)  # values left placeholders


_RENDERING: contextvars.ContextVar[_Rendering] = contextvars.ContextVar("snapq_rendering")


@contextlib.contextmanager
def _rendering(dialect: Dialect, values: Mapping[str, Any]) -> Iterator[_Rendering]:
    serializer: Callable[[Any], str] | None = getattr(dialect, "_json_serializer", None)
    rendering = _Rendering(values, serializer or json.dumps)
    token = _RENDERING.set(rendering)
    try:
        yield rendering
    finally:
        _RENDERING.reset(token)


class _Ignored:
    """Stands for a parameter value kept out of a snapshot (``ignore=``): no type can
    render it as a literal, so it stays a placeholder, and it is not listed."""

    def __repr__(self) -> str:
        return "<ignored>"

    def __bool__(self) -> bool:
        raise TypeError(repr(self))

    def __str__(self) -> str:
        raise TypeError(repr(self))


IGNORED_PARAMETER = _Ignored()
CACHE_SIZE = 4096
_NO_VALUE: Any = object()  # no literal value given (SQLAlchemy's NO_ARG, imported late)
# Display compilations by dialect and the SQL the driver received; see compile_execution.
_TEMPLATES: dict[tuple[Any, ...], Any] = {}


@dataclass(frozen=True)
class CompiledSQL:
    """SQL with literal values, and the values that had to stay as placeholders."""

    sql: str
    parameters: tuple[tuple[str, Any], ...] = ()


def compile_for_display(
    statement: Any,
    *,
    dialect: Dialect,
    values: Mapping[str, Any] | None = None,
    column_keys: Sequence[str] | None = None,
) -> CompiledSQL:
    """Compile ``statement`` with ``values`` (by bind parameter name) as literals."""
    dialect_class: Any = type(dialect)
    display = _display_dialect(dialect_class, _backslash_escapes(dialect))
    with _rendering(dialect, values or {}) as rendering:
        compiled = statement.compile(
            dialect=display,
            column_keys=list(column_keys) if column_keys is not None else None,
            compile_kwargs={"literal_binds": True},
        )
        sql = str(compiled)
    return CompiledSQL(sql, tuple(rendering.unrendered.items()))


def compile_execution(
    compiled: Compiled,
    parameters: Mapping[str, Any],
    *,
    sent: str,
    ignore: Collection[str] = (),
) -> CompiledSQL:
    """Compile what an execution sent: its statement with the parameters it bound.

    The statement is compiled once per shape (``sent``, the SQL the driver received,
    identifies it) with every parameter left for late rendering; each execution then
    only renders its values into that template. Parameters named in ``ignore`` stay
    placeholders and are not listed.
    """
    if ignore:
        parameters = {
            name: IGNORED_PARAMETER if name in ignore else value
            for name, value in parameters.items()
        }
    dialect = compiled.dialect
    # The types too: a parameter typed by its value (text().bindparams, literal())
    # sends the same SQL for None as for True, but renders differently.
    types = tuple(repr(bind.type) for bind in compiled.binds.values())  # type: ignore[attr-defined]
    key = (type(dialect), _backslash_escapes(dialect), sent, types)
    template: Any = _TEMPLATES.get(key)
    if template is None:
        dialect_class: Any = type(dialect)
        with _rendering(dialect, {}):  # values come later, per execution
            template = compiled.statement.compile(  # type: ignore[union-attr]
                dialect=_display_dialect(dialect_class, _backslash_escapes(dialect)),
                column_keys=compiled.column_keys,  # type: ignore[attr-defined]
                compile_kwargs={"literal_execute": True},
            )
        if len(_TEMPLATES) >= CACHE_SIZE:
            _TEMPLATES.pop(next(iter(_TEMPLATES)))
        _TEMPLATES[key] = template
    with _rendering(dialect, {}) as rendering:
        expanded = template.construct_expanded_state(_collapse_expanded(template, parameters))
    unrendered = rendering.unrendered | expanded.parameters
    listed = tuple(
        (name, value) for name, value in unrendered.items() if value is not IGNORED_PARAMETER
    )
    return CompiledSQL(expanded.statement, listed)


def _collapse_expanded(template: Any, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Gather the values of an expanded IN parameter (``ids_1``, ``ids_2``...) back into
    the list the template expects under ``ids``, as the cursor saw them split."""
    values = dict(parameters)
    for bind, name in template.bind_names.items():
        if bind.expanding and name not in values:
            items: list[Any] = []
            while f"{name}_{len(items) + 1}" in values:
                items.append(values.pop(f"{name}_{len(items) + 1}"))
            values[name] = items
    return values


def _backslash_escapes(dialect: Dialect) -> bool:
    # A connected PostgreSQL dialect knows standard_conforming_strings; a fresh one
    # assumes it off and would double every backslash in a literal.
    return bool(getattr(dialect, "_backslash_escapes", False)) and bool(
        getattr(dialect, "server_version_info", None)
    )


# Control characters, which a literal holding any is written as an escape string for;
# in it, they and the quote are spelled out (a quote doubled, as in any literal).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPELLED_OUT = re.compile(r"[\x00-\x1f\x7f']")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f", "'": "''"}


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    return _ESCAPES.get(character) or f"\\x{ord(character):02x}"


class _EscapeStrings:
    """Mixed into the dialect's own string type, for display: a string holding line
    breaks, tabs or other control characters is written as an escape string on one
    line (``E'a \\nb'``), alone or in an array. Inline snapshots do not keep the
    spaces that end a line, and in a literal those are data."""

    def literal_processor(self, dialect: Dialect) -> Callable[[Any], str]:
        plain = super().literal_processor(dialect)  # type: ignore[misc]

        def process(value: Any) -> str:
            if isinstance(value, str) and _CONTROL.search(value):
                return "E'" + _SPELLED_OUT.sub(_escape, value.replace("\\", "\\\\")) + "'"
            return str(plain(value))

        return process


class _DisplayLiterals:
    """Mixed into the dialect's own statement compiler (see ``_display_dialect``):
    literals from the values of ``_RENDERING``, and placeholders where no literal
    can be written."""

    def render_literal_bindparam(
        self, bindparam: Any, render_literal_value: Any = _NO_VALUE, **kw: Any
    ) -> str:
        from sqlalchemy import bindparam as make_bindparam
        from sqlalchemy import literal
        from sqlalchemy.sql.base import NO_ARG
        from sqlalchemy.types import NullType, String

        if render_literal_value is _NO_VALUE:
            render_literal_value = NO_ARG
        rendering = _RENDERING.get()
        compiler: Any = self
        name = compiler._truncate_bindparam(bindparam)  # the name execution used
        if render_literal_value is NO_ARG and name in rendering.values:
            render_literal_value = rendering.values[name]
        if render_literal_value is NO_ARG and bindparam.required:
            return f":{name}"  # no value to show (SQLAlchemy would warn and write NULL)
        value = render_literal_value if render_literal_value is not NO_ARG else bindparam.value
        if isinstance(bindparam.type, NullType) and render_literal_value is not NO_ARG:
            # An untyped parameter (text() given values at execution): type it by
            # its value, as the driver would.
            bindparam = make_bindparam(name, value, type_=literal(value).type)
        try:
            if not bindparam.expanding:
                own = self._own_literal(bindparam.type, value)
                if own is not None:
                    return own
            return str(
                super().render_literal_bindparam(  # type: ignore[misc]
                    bindparam, render_literal_value=render_literal_value, **kw
                )
            )
        except Exception:
            if isinstance(value, str) and not bindparam.expanding:
                # A type SQLAlchemy has no literal for (INET, TSVECTOR...): psycopg
                # sends the string untyped, as a quoted literal is.
                return str(compiler.render_literal_value(value, String()))
            rendering.unrendered[name] = value
            return f":{name}"

    def _own_literal(self, type_: Any, value: Any) -> str | None:
        """Write what SQLAlchemy would write wrongly or not at all, as psycopg sends
        it: JSON (serialized as the engine does) and bytes (in hex)."""
        from sqlalchemy.sql.elements import Null
        from sqlalchemy.types import JSON, LargeBinary

        if isinstance(type_, JSON):
            if value is type_.NULL:  # JSON's null, whatever none_as_null says
                value = None
            elif isinstance(value, Null) or (value is None and type_.none_as_null):
                return "NULL"
            return self._cast(_RENDERING.get().json_dumps(value), type_)  # None: null
        if value is None:
            return "NULL"
        if isinstance(type_, LargeBinary) and isinstance(value, bytes | bytearray | memoryview):
            return self._cast("\\x" + bytes(value).hex(), type_)
        return None

    def _cast(self, text: str, type_: Any) -> str:
        from sqlalchemy.types import String

        compiler: Any = self
        type_name = compiler.dialect.type_compiler_instance.process(type_)
        return f"CAST({compiler.render_literal_value(text, String())} AS {type_name})"


def _escaping(implementation: type) -> type:
    return type(f"Display{implementation.__name__}", (_EscapeStrings, implementation), {})


@functools.cache
def _display_dialect(dialect_class: type[Dialect], backslash_escapes: bool) -> Dialect:
    """Return a dialect of ``dialect_class`` whose compiler writes display literals."""
    from sqlalchemy.types import String

    base_compiler: Any = dialect_class.statement_compiler
    compiler = type("DisplayCompiler", (_DisplayLiterals, base_compiler), {})
    dialect = dialect_class(paramstyle="named")  # type: ignore[call-arg]
    dialect.statement_compiler = compiler
    # Every string type the dialect has an implementation of (Enum, CITEXT, CHAR...),
    # since a type finds the first of its classes listed, and String itself.
    colspecs: dict[Any, Any] = {String: String, **dialect.colspecs}
    dialect.colspecs = {
        generic: _escaping(implementation)
        if isinstance(generic, type) and issubclass(generic, String)
        else implementation
        for generic, implementation in colspecs.items()
    }
    dialect._backslash_escapes = backslash_escapes  # type: ignore[attr-defined]
    return dialect
