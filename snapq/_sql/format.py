"""Pretty-print PostgreSQL with sqlglot, without ever changing what the SQL means.

sqlglot respells some things (``::`` as CAST, ``now()`` as CURRENT_TIMESTAMP,
``timestamp with time zone`` as TIMESTAMPTZ, upper-case interval units, default
NULLS FIRST/LAST dropped), all equivalent in PostgreSQL. But it also makes changes
that are not (``interval '3 days 04:05:06'`` loses its time, ``current_timestamp(0)``
its precision), so every result is checked: its literals, names, operators and
meaningful keywords must be those of the input, up to the known equivalent
respellings. A statement that fails the
check, that sqlglot cannot parse, or that it parses as something else (``LISTEN
foo`` comes back as ``LISTEN AS foo``) is shown as given, with a note saying so.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snapq._sql.compile import CompiledSQL

# What sqlglot's root expression must be for each leading keyword; anything else is
# shown verbatim.
_ROOTS = {
    "SELECT": ("Select", "Union", "Intersect", "Except"),
    "WITH": ("Select", "Union", "Intersect", "Except", "Insert", "Update", "Delete"),
    "VALUES": ("Values",),
    "INSERT": ("Insert",),
    "UPDATE": ("Update",),
    "DELETE": ("Delete",),
    "(": ("Select", "Union", "Intersect", "Except", "Subquery"),
}
_LEADING_WORD = re.compile(r"\s*(\(|[A-Za-z]+)")


@dataclass(frozen=True)
class Formatted:
    """Display SQL, and why it is not pretty-printed if it is not."""

    text: str
    problem: str | None = None


@functools.lru_cache(maxsize=4096)
def pretty_sql(sql: str) -> Formatted:
    """Return ``sql`` pretty-printed, or as given with the reason it could not be."""
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    match = _LEADING_WORD.match(sql)
    allowed = _ROOTS.get(match.group(1).upper(), ()) if match else ()
    if not allowed:
        return Formatted(sql.strip())  # DDL, SET, LISTEN...: shown as written, by design
    try:
        # Tokenized once, for the parser and for the meaning to keep, as sqlglot.parse
        # and a second tokenization would.
        dialect = sqlglot.Dialect.get_or_raise("postgres")
        tokens = dialect.tokenize(sql)
        meaning = _meaning_of(tokens)
        expressions = dialect.parser(error_level=ErrorLevel.RAISE).parse(tokens, sql)
        if len(expressions) != 1 or expressions[0] is None:
            return Formatted(sql.strip(), "more than one statement; shown as compiled")
        expression = expressions[0]
        if type(expression).__name__ not in allowed:
            return Formatted(sql.strip(), "sqlglot misread the statement; shown as compiled")
        # The tree is this call's own: sqlglot need not copy it (it would, twice).
        expression = expression.transform(_keep_postgresql_spelling, copy=False)
        text = expression.sql(
            dialect="postgres", pretty=True, unsupported_level=ErrorLevel.RAISE, copy=False
        )
        same = meaning == _meaning(text)
    except (SqlglotError, ValueError, RecursionError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Formatted(sql.strip(), f"sqlglot could not parse it ({reason}); shown as compiled")
    if not same:
        return Formatted(sql.strip(), "sqlglot would change its meaning; shown as compiled")
    return Formatted(text)


def _keep_postgresql_spelling(node: Any) -> Any:
    """Keep what sqlglot would respell wrongly: ``:name`` placeholders (it would print
    ``%(name)s``) and a bare ``CURRENT_TIME`` (it would print ``CURRENT_TIME()``,
    which PostgreSQL rejects)."""
    from sqlglot import exp

    if isinstance(node, exp.Placeholder) and node.name and node.name != "?":
        return exp.var(f":{node.name}")
    if isinstance(node, exp.CurrentTime) and node.this is None:
        return exp.var("CURRENT_TIME")
    return node


# Keywords whose loss or gain changes a statement's meaning. Others (AS, INNER, ASC,
# NULLS LAST after ASC...) may come and go as sqlglot respells.
_MEANINGFUL = frozenset(
    [
        "ALL",
        "AND",
        "ANY",
        "BETWEEN",
        "DESC",
        "DISTINCT",
        "EXCEPT",
        "EXISTS",
        "FALSE",
        "ILIKE",
        "IN",
        "INTERSECT",
        "LIKE",
        "LIMIT",
        "NOT",
        "NULL",
        "OFFSET",
        "OR",
        "RETURNING",
        "SIMILAR",
        "SOME",
        "TRUE",
        "UNION",
    ]
)
_PUNCTUATION = frozenset(["(", ")", "[", "]", ",", ";", ".", "::"])
_SAME = {"!=": "<>", "now": "current_timestamp"}
# Words the tokenizer reads as names that sqlglot adds (CAST for ::) or drops (a
# default NULLS FIRST/LAST).
_RESPELLED = frozenset({"cast", "nulls", "first", "last"})


def _meaning(sql: str) -> list[tuple[str, str]]:
    """Return what must survive formatting: literals, names, operators, key keywords."""
    import sqlglot

    return _meaning_of(sqlglot.Dialect.get_or_raise("postgres").tokenize(sql))


def _meaning_of(tokens: list[Any]) -> list[tuple[str, str]]:
    """Return what must survive formatting of the SQL that ``tokens`` (sqlglot's
    postgres tokens) spell."""
    zoned = _time_zone_types(tokens)
    categories = _token_categories()
    meaning = []
    for index, token in enumerate(tokens):
        kind, text = token.token_type, token.text
        if index in zoned and zoned[index] is None:
            continue  # the WITH TIME ZONE of a type, folded into the type
        category = categories.get(kind)
        if category is _IDENTIFIER:
            meaning.append(("name", text))  # quoted: case matters
        elif category is _VAR:
            if text.lower() not in _RESPELLED:
                meaning.append(("name", _SAME.get(text.lower(), text.lower())))
        elif category is _TYPE:
            # by kind: int4 and INT are one type
            meaning.append(("type", zoned.get(index) or kind.name))
        elif category is _NUMBER:
            meaning.append(("number", text))
        elif category is _STRING:
            meaning.append(("string", text.lower()))  # interval units get upper-cased
        elif text.upper() in _MEANINGFUL:
            meaning.append(("keyword", text.upper()))
        elif not text[:1].isalnum() and text not in _PUNCTUATION and text[:1] != "_":
            meaning.append(("operator", _SAME.get(text, text)))
    return sorted(meaning)


_IDENTIFIER, _VAR, _TYPE, _NUMBER, _STRING = "identifier", "var", "type", "number", "string"


@functools.cache
def _token_categories() -> dict[Any, str]:
    """Sort sqlglot's token kinds once into what ``_meaning_of`` keeps of them (in its
    order of precedence); a kind not in it is a keyword, an operator or punctuation."""
    from sqlglot import TokenType
    from sqlglot.parser import Parser

    categories: dict[Any, str] = {}
    for kind in TokenType:
        if kind == TokenType.IDENTIFIER:
            categories[kind] = _IDENTIFIER
        elif kind in (TokenType.VAR, TokenType.CURRENT_TIMESTAMP, TokenType.CURRENT_DATE):
            categories[kind] = _VAR
        elif kind in Parser.TYPE_TOKENS:
            categories[kind] = _TYPE
        elif kind == TokenType.NUMBER:
            categories[kind] = _NUMBER
        elif "STRING" in kind.name:
            categories[kind] = _STRING
    return categories


def _time_zone_types(tokens: list[Any]) -> dict[int, str | None]:
    """Fold ``TIMESTAMP [(p)] WITH[OUT] TIME ZONE`` into the one type sqlglot writes
    for it (TIMESTAMPTZ or TIMESTAMP; TIME likewise): the type's index maps to the
    folded name, and the indexes of WITH, TIME, ZONE to None."""
    from sqlglot import TokenType

    folded: dict[int, str | None] = {}
    for index, token in enumerate(tokens):
        if token.token_type not in (TokenType.TIMESTAMP, TokenType.TIME):
            continue
        after = index + 1
        if _texts(tokens, after, 1) == ["("] and _texts(tokens, after + 2, 1) == [")"]:
            after += 3  # a precision
        words = _texts(tokens, after, 3)
        if words in (["WITH", "TIME", "ZONE"], ["WITHOUT", "TIME", "ZONE"]):
            zone = "TZ" if words[0] == "WITH" else ""
            folded[index] = token.token_type.name + zone
            folded.update(dict.fromkeys(range(after, after + 3)))
    return folded


def _texts(tokens: list[Any], start: int, count: int) -> list[str]:
    return [token.text.upper() for token in tokens[start : start + count]]


def display_sql(sent: CompiledSQL) -> Formatted:
    """Return SQL as snapshots show it: pretty-printed, then the values that could not
    be written as literals, one ``-- name = value`` line each."""
    formatted = pretty_sql(sent.sql)
    parameters = "".join(f"\n-- {name} = {value!r}" for name, value in sent.parameters)
    return Formatted(formatted.text + parameters, formatted.problem)
