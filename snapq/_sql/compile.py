"""Compile a SQLAlchemy statement to the PostgreSQL text shown in snapshots.

Display SQL shows what was sent: the statement is compiled with the values that
reached the cursor (so Python-side column defaults added at execution appear), as
literals. SQLAlchemy writes most; snapq writes JSON (which it cannot) and bytes
(which it writes as text, wrongly) as casts of strings, intervals as psycopg sends
them (days apart from seconds), and strings of types it has no literal for (INET...)
as plain strings, untyped as psycopg sends them. Any other value (a range, an array
of JSON, a custom type) stays a placeholder and is listed after the statement. It
uses the ``named`` paramstyle, since with ``pyformat`` every ``%`` would come out
doubled.

A literal keeps the type its parameter was sent with (``CAST(2.5 AS DOUBLE
PRECISION)``) where PostgreSQL would read the literal alone as something else, and
only there; see ``needs_cast``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import re
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from snapq._sql.literal_types import (
    ASSIGNED,
    Sent,
    Typing,
    array_needs_cast,
    array_type,
    dumped_type,
    kind,
    needs_cast,
    own_scalar,
    own_type,
    places_in,
)

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
# Display compilations by dialect and the SQL the driver received, and by the compiled
# statement they display; see _template.
_TEMPLATES: dict[tuple[Any, ...], Any] = {}
_BY_COMPILED: weakref.WeakKeyDictionary[Any, tuple[bool, Any]] = weakref.WeakKeyDictionary()


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

    The statement is compiled once (see ``_template``) with every parameter left for
    late rendering; each execution then only renders its values into that template.
    Parameters named in ``ignore`` stay placeholders and are not listed.
    """
    if ignore:
        parameters = {
            name: IGNORED_PARAMETER if name in ignore else value
            for name, value in parameters.items()
        }
    dialect = compiled.dialect
    template = _template(compiled, sent)
    with _rendering(dialect, {}) as rendering:
        expanded = template.construct_expanded_state(_collapse_expanded(template, parameters))
    unrendered = rendering.unrendered | expanded.parameters
    listed = tuple(
        (name, value) for name, value in unrendered.items() if value is not IGNORED_PARAMETER
    )
    return CompiledSQL(expanded.statement, listed)


def _template(compiled: Any, sent: str) -> Any:
    """Return the display compilation of ``compiled``, with its parameters left for
    late rendering: kept for the compiled statement itself while SQLAlchemy keeps it
    (its cache hands the same one to every execution of a statement), else by shape."""
    dialect = compiled.dialect
    dialect_class: Any = type(dialect)
    backslash_escapes = _backslash_escapes(dialect)
    known = _BY_COMPILED.get(compiled)
    if known is not None and known[0] == backslash_escapes:
        return known[1]
    # The types too: a parameter typed by its value (text().bindparams, literal())
    # sends the same SQL for None as for True, but renders differently.
    types = tuple(repr(bind.type) for bind in compiled.binds.values())
    key = (dialect_class, backslash_escapes, sent, types)
    template: Any = _TEMPLATES.get(key)
    if template is None:
        with _rendering(dialect, {}):  # values come later, per execution
            template = compiled.statement.compile(
                dialect=_display_dialect(dialect_class, backslash_escapes),
                column_keys=compiled.column_keys,
                compile_kwargs={"literal_execute": True},
            )
        if len(_TEMPLATES) >= CACHE_SIZE:
            _TEMPLATES.pop(next(iter(_TEMPLATES)))
        _TEMPLATES[key] = template
    _BY_COMPILED[compiled] = (backslash_escapes, template)
    return template


def _collapse_expanded(template: Any, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Gather the values of an expanded IN parameter (``ids_1``, ``ids_2``..., or
    ``pairs_1_1``, ``pairs_1_2``... for tuples) back into the list the template
    expects under ``ids``, as the cursor saw them split."""
    values = dict(parameters)
    for bind, name in template.bind_names.items():
        if bind.expanding and name not in values:
            width = len(bind.type.types) if bind.type._is_tuple_type else 0
            items: list[Any] = []
            while True:
                row = f"{name}_{len(items) + 1}"
                keys = [f"{row}_{column}" for column in range(1, width + 1)] or [row]
                if keys[0] not in values:
                    break
                found = [values.pop(key) for key in keys]
                items.append(tuple(found) if width else found[0])
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
        from sqlalchemy.types import NullType, String

        compiler: Any = self
        name = compiler._truncate_bindparam(bindparam)  # the name execution used
        value, given = self._value_of(bindparam, name, render_literal_value)
        if value is _NO_VALUE:
            return f":{name}"  # no value to show (SQLAlchemy would warn and write NULL)
        sent = bindparam  # as SQLAlchemy sent it: its type, its place in the statement
        if isinstance(bindparam.type, NullType) and given:
            # An untyped parameter (text() given values at execution): type it by
            # its value, as the driver would.
            bindparam = make_bindparam(name, value, type_=literal(value).type)
        try:
            return self._written(bindparam, sent, value, **kw)
        except Exception:
            if isinstance(value, str) and not bindparam.expanding:
                # A type SQLAlchemy has no literal for (INET, TSVECTOR...): psycopg
                # sends the string untyped, as a quoted literal is.
                return self._typed(compiler.render_literal_value(value, String()), value, sent)
            _RENDERING.get().unrendered[name] = value
            return f":{name}"

    def _value_of(self, bindparam: Any, name: str, given: Any) -> tuple[Any, bool]:
        """Return the value to show for ``bindparam`` and whether it was given (to the
        compilation or by name in ``_RENDERING``); ``_NO_VALUE`` for a required
        parameter given none."""
        from sqlalchemy.sql.base import NO_ARG

        compiler: Any = self
        values = _RENDERING.get().values
        if given is not _NO_VALUE and given is not NO_ARG:
            return given, True
        if name in values:
            return values[name], True
        if bindparam.required:
            return _NO_VALUE, False
        collected = getattr(compiler, "_collected_params", None) or {}
        if getattr(compiler, "_collect_params", False) and bindparam.key in collected:
            return collected[bindparam.key], False  # given to .params()
        return bindparam.effective_value, False

    def _written(self, bindparam: Any, sent: Any, value: Any, **kw: Any) -> str:
        """Write ``value`` as a literal (a list of them for IN), typed as ``sent``."""
        if bindparam.expanding:
            items = self._typed_items(sent, bindparam, value, **kw)
            if items is not None:
                return items
            return str(
                super().render_literal_bindparam(  # type: ignore[misc]
                    bindparam, render_literal_value=value, **kw
                )
            )
        own = self._own_literal(bindparam.type, value)
        if own is None:
            own = str(
                super().render_literal_bindparam(  # type: ignore[misc]
                    bindparam, render_literal_value=value, **kw
                )
            )
        return self._typed(own, value, sent)

    def _typed_items(self, sent: Any, bindparam: Any, values: Any, **kw: Any) -> str | None:
        """Write the values of an IN list one by one, each typed as it was sent; or
        None, to leave to SQLAlchemy what it writes its own way (no values, tuples, a
        type's bind expression)."""
        compiler: Any = self
        if (
            kw.get("bind_expression_template")
            or not isinstance(values, list | tuple)
            or not values
            or bindparam.type._is_tuple_type
            or any(isinstance(value, list | tuple) for value in values)
        ):
            return None
        written = []
        for value in values:
            own = self._own_literal(bindparam.type, value)
            if own is None:
                own = str(compiler.render_literal_value(value, bindparam.type))
            written.append(self._typed(own, value, sent))
        return ", ".join(written)

    def visit_binary(self, binary: Any, **kw: Any) -> str:
        # Before the operands are written: a literal that meets a typed expression
        # takes its type from it, and needs no cast to keep it (see needs_cast).
        self._places().update(places_in(binary))
        return str(super().visit_binary(binary, **kw))  # type: ignore[misc]

    def visit_pow_func(self, fn: Any, **kw: Any) -> str:
        # SQLAlchemy's PostgreSQL compiler drops kw (literal_binds) for power().
        compiler: Any = self
        return f"power{compiler.function_argspec(fn, **kw)}"

    def _places(self) -> dict[Any, str]:
        """Where each bind parameter met a typed expression, by parameter."""
        places: dict[Any, str] | None = self.__dict__.get("_snapq_places")
        if places is None:
            places = self.__dict__["_snapq_places"] = {}
        return places

    def _typed(self, written: str, value: Any, bindparam: Any) -> str:
        """Return the literal ``written``, cast to the type ``bindparam`` was sent
        with where PostgreSQL would not give it that type on its own."""
        array = written.startswith("ARRAY[") and isinstance(value, list | tuple)
        own = None if array else own_type(written)
        if not array and own is None:
            return written  # typed already (a cast, a function call)
        typing = self._typing(bindparam)
        sent = typing.cast if typing.cast is not None else dumped_type(value)
        if typing.typed_after or sent is None:
            return written
        if array:
            needed = array_needs_cast(array_type(value), sent, typing.place)
        else:
            needed = needs_cast(own, written, sent, typing.place, float_bind=typing.float_bind)
        return f"CAST({written} AS {sent.name})" if needed else written

    def _typing(self, bindparam: Any) -> Typing:
        """Return what types ``bindparam`` as sent, worked out once per compilation:
        a template serves many executions."""
        known: dict[Any, Typing] = self.__dict__.setdefault("_snapq_typing", {})
        typing = known.get(bindparam)
        if typing is None:
            typing = known[bindparam] = self._typing_of(bindparam)
        return typing

    def _typing_of(self, bindparam: Any) -> Typing:
        from sqlalchemy.types import Float

        compiler: Any = self
        crud = getattr(bindparam, "_is_crud", False)
        place = ASSIGNED if crud else self._places().get(bindparam)
        float_bind = isinstance(bindparam.type, Float)
        impl = bindparam.type._unwrapped_dialect_impl(compiler.dialect)
        if not (compiler.dialect._bind_typing_render_casts and impl.render_bind_cast):
            return Typing(None, place, float_bind=float_bind)  # typed by its value
        # SQLAlchemy writes some casts after the literal too (UUID's, in a template).
        typed_after = impl.render_literal_cast and bindparam in compiler.literal_execute_params
        name = str(compiler.render_bind_cast(bindparam.type, impl, "")).removeprefix("::")
        return Typing(Sent(kind(name), name), place, float_bind=float_bind, typed_after=typed_after)

    def _own_literal(self, type_: Any, value: Any) -> str | None:
        """Write what SQLAlchemy would write wrongly or not at all, as psycopg sends
        it: JSON (serialized as the engine does), bytes (in hex), intervals (days
        apart from seconds: ``1 day`` is not ``24:00:00``), NaN and infinities."""
        from sqlalchemy.types import JSON, LargeBinary

        if isinstance(type_, JSON):
            return self._json_literal(type_, value)
        if value is None:
            return "NULL"
        if isinstance(type_, LargeBinary) and isinstance(value, bytes | bytearray | memoryview):
            return self._cast("\\x" + bytes(value).hex(), type_)
        return own_scalar(type_, value)

    def _json_literal(self, type_: Any, value: Any) -> str:
        from sqlalchemy.sql.elements import Null

        if value is type_.NULL:  # JSON's null, whatever none_as_null says
            value = None
        elif isinstance(value, Null) or (value is None and type_.none_as_null):
            return "NULL"
        return self._cast(_RENDERING.get().json_dumps(value), type_)  # None: null

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
