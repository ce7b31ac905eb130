"""Rewrite inline snapshots in Python source: pure text in, text out.

A change says: in the call that starts at (line, column), set keyword ``name`` to
``value``. ``rewrite`` applies all changes to one file's text at once: it finds
each call in a fresh parse, replaces an existing literal or inserts a new keyword
argument, refuses overlapping edits, keeps the file's newlines, and checks that the
result still parses before returning it. Nothing here touches the disk.
"""

from __future__ import annotations

import ast
import io
import itertools
import re
import textwrap
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

INDENT = "    "
BACKSLASH = "\\"
# Characters a source file cannot hold as themselves inside a string literal: the
# tokenizer turns \r into \n, refuses NUL, and other controls would hide in review.
_SOURCE_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)?")


class RewriteError(Exception):
    """A change that cannot be made safely; the file is left as it was."""


@dataclass(frozen=True, order=True)
class Change:
    """Set keyword ``name`` of the call at ``line`` (1-based), ``column`` (0-based, in
    characters) to a string literal holding ``value``."""

    line: int
    column: int
    name: str
    value: str


def normalize(text: str) -> str:
    """Return ``text`` as snapshots compare it: common indentation, blank lines at either
    end, and trailing spaces removed."""
    # Only newlines split: a \r or form feed inside a value is part of it.
    lines = [line.rstrip(" \t") for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return textwrap.dedent("\n".join(lines))


def decode_source(data: bytes) -> tuple[str, str]:
    """Decode Python source as Python does; return the text and its encoding."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding), encoding


@dataclass(frozen=True)
class _Style:
    """How the file writes what snapq adds: its newline and its encoding."""

    newline: str
    encoding: str

    def literal(self, value: str, indent: str) -> str:
        return string_literal(value, indent=indent, newline=self.newline, encoding=self.encoding)


@dataclass(frozen=True, order=True)
class _Edit:
    start: int
    end: int
    text: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rewritten:
    """The new source, and the changes that altered it (the others were no-ops)."""

    text: str
    applied: tuple[Change, ...]


def rewrite(source: str, changes: Iterable[Change], *, encoding: str = "utf-8") -> Rewritten:
    """Apply every change to ``source``, or raise ``RewriteError`` and change nothing."""
    lines = _lines(source)
    style = _Style(_newline(lines), encoding)
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise RewriteError(f"the file does not parse ({error.msg}, line {error.lineno})") from None
    # Calls that start together (partial(assert_query)(stmt)) are an outer call whose
    # callee is the inner one's result: the outer one made the call. ast.walk visits it
    # first.
    calls: dict[tuple[int, int], ast.Call] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            calls.setdefault((node.lineno, _column(lines, node.lineno, node.col_offset)), node)
    by_call: dict[tuple[int, int], dict[str, Change]] = {}
    for change in changes:
        by_call.setdefault((change.line, change.column), {})[change.name] = change
    edits: list[_Edit] = []
    applied: list[Change] = []
    for position, call_changes in by_call.items():
        call = calls.get(position)
        if call is None:
            line, column = position
            msg = f"no call at line {line}, column {column + 1} any more (was the file edited?)"
            raise RewriteError(msg)
        values = {name: change.value for name, change in call_changes.items()}
        for edit in _call_edits(lines, call, values, style):
            if source[edit.start : edit.end] != edit.text:
                edits.append(edit)
                applied.extend(call_changes[name] for name in edit.names)
    result = _apply(source, edits)
    try:
        ast.parse(result)
    except SyntaxError as error:  # pragma: no cover - a bug in this module if reached
        msg = f"the rewritten file would not parse ({error.msg}, line {error.lineno})"
        raise RewriteError(msg) from None
    return Rewritten(result, tuple(sorted(applied)))


def string_literal(value: str, *, indent: str, newline: str = "\n", encoding: str = "utf-8") -> str:
    """Return a triple-quoted Python literal whose normalized value is ``value``.

    Its lines are indented one level deeper than ``indent``; the closing quotes
    stand at ``indent``. Raw or escaped as the content needs, and checked.
    Characters the file's ``encoding`` cannot hold are written as escapes.
    """
    text = normalize(value)
    body_indent = indent + INDENT
    raw = BACKSLASH in text
    quote = '"""'
    if '"""' in text:
        quote = "'''" if "'''" not in text else '"""'
    unwritable = not _encodable(text, encoding) or _SOURCE_UNSAFE.search(text)
    if quote in text or unwritable:  # escape, and no raw string
        raw = False
        text = text.replace(BACKSLASH, BACKSLASH * 2)
        text = text.replace(quote, "".join(BACKSLASH + char for char in quote))
        text = "".join(
            _escape(char) if _SOURCE_UNSAFE.match(char) or not _encodable(char, encoding) else char
            for char in text
        )
    body = newline.join(body_indent + line if line else "" for line in text.split("\n"))
    literal = f"{'r' if raw else ''}{quote}{newline}{body}{newline}{indent}{quote}"
    if normalize(ast.literal_eval(literal.replace("\r\n", "\n"))) != normalize(value):
        msg = "cannot write this value as a string literal"  # pragma: no cover - defensive
        raise RewriteError(msg)
    return literal


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _escape(char: str) -> str:
    code = ord(char)
    return f"{BACKSLASH}u{code:04x}" if code <= 0xFFFF else f"{BACKSLASH}U{code:08x}"


def _call_edits(
    lines: Sequence[str], call: ast.Call, values: dict[str, str], style: _Style
) -> list[_Edit]:
    existing = {keyword.arg: keyword for keyword in call.keywords if keyword.arg}
    call_indent = _indentation(lines[call.lineno - 1])
    argument_indent = _argument_indent(lines, call, call_indent)
    edits = []
    for name, value in values.items():
        keyword = existing.get(name)
        if keyword is not None:
            edits.append(
                _replacement(
                    lines, call, keyword, value, argument_indent=argument_indent, style=style
                )
            )
    missing = [(name, value) for name, value in values.items() if name not in existing]
    if missing:
        edits.extend(
            _insertions(
                lines,
                call,
                missing,
                argument_indent=argument_indent,
                call_indent=call_indent,
                style=style,
            )
        )
    return edits


def _replacement(
    lines: Sequence[str],
    call: ast.Call,
    keyword: ast.keyword,
    value: str,
    *,
    argument_indent: str,
    style: _Style,
) -> _Edit:
    node = keyword.value
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        msg = f"{keyword.arg}= is not a string literal, so snapq cannot rewrite it"
        raise RewriteError(msg)
    start = _offset(lines, node.lineno, node.col_offset)
    end = _offset(lines, node.end_lineno or node.lineno, node.end_col_offset or 0)
    indent = (
        argument_indent
        if keyword.lineno == call.lineno
        else _indentation(lines[keyword.lineno - 1])
    )
    return _Edit(start, end, style.literal(value, indent), (str(keyword.arg),))


def _insertions(
    lines: Sequence[str],
    call: ast.Call,
    keywords: list[tuple[str, str]],
    *,
    argument_indent: str,
    call_indent: str,
    style: _Style,
) -> list[_Edit]:
    """Add keyword arguments after the call's last argument, one per line.

    A call written on one line is opened up: each argument on a line of its own.
    """
    source = "".join(lines)
    close = _offset(lines, call.end_lineno or call.lineno, (call.end_col_offset or 1) - 1)
    opening = source.index(
        "(", _offset(lines, call.func.end_lineno or call.lineno, call.func.end_col_offset or 0)
    )
    newline = style.newline
    names = tuple(name for name, _ in keywords)
    added = "".join(
        f"{newline}{argument_indent}{name}={style.literal(value, argument_indent)},"
        for name, value in keywords
    )
    arguments: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    if not arguments:
        return [_Edit(opening + 1, close, added + newline + call_indent, names)]
    ordered = sorted(arguments, key=lambda node: (node.lineno, node.col_offset))
    edits = []
    if call.end_lineno == call.lineno:  # one line: give each argument a line of its own
        before = opening + 1
        for node in ordered:
            start = _offset(lines, node.lineno, node.col_offset)
            edits.append(_Edit(before, start, newline + argument_indent))
            end = _end_of_argument(source, _node_end(lines, node), close)
            comma = _next_comma(source, end, close)
            before = comma + 1 if comma is not None else end
    position = _end_of_argument(source, _node_end(lines, ordered[-1]), close)
    comma = _next_comma(source, position, close)
    if comma is not None:
        position = comma + 1
    rest_of_line = _LINE.match(source, position).group()  # type: ignore[union-attr]
    if rest_of_line.strip().startswith("#"):  # keep the comment on its line
        if comma is None:
            edits.append(_Edit(position, position, ","))
            comma = position
        position += len(rest_of_line.rstrip("\r\n"))
    if comma is None:
        added = "," + added
    end = position
    if not source[position:close].strip():  # the closing parenthesis gets a line of its own
        added += newline + call_indent
        end = close
    edits.append(_Edit(position, end, added, names))
    return edits


def _node_end(lines: Sequence[str], node: ast.expr | ast.keyword) -> int:
    return _offset(lines, node.end_lineno or node.lineno, node.end_col_offset or 0)


def _end_of_argument(source: str, position: int, close: int) -> int:
    """Return where an argument really ends: after parentheses that only group it."""
    index = _skip_blank(source, position, close)
    while index < close and source[index] == ")":
        position = index + 1
        index = _skip_blank(source, position, close)
    return position


def _next_comma(source: str, position: int, close: int) -> int | None:
    """Return the offset of the comma after an argument, if there is one."""
    index = _skip_blank(source, position, close)
    return index if index < close and source[index] == "," else None


def _skip_blank(source: str, index: int, close: int) -> int:
    """Skip whitespace, comments and line continuations."""
    while index < close:
        char = source[index]
        if char == "#":
            newline = source.find("\n", index)
            index = close if newline < 0 else newline
        elif char.isspace() or char == "\\":
            index += 1
        else:
            break
    return index


def _argument_indent(lines: Sequence[str], call: ast.Call, call_indent: str) -> str:
    """Return the indentation for the call's arguments, following the call's style."""
    source = "".join(lines)
    func_end = _offset(lines, call.func.end_lineno or call.lineno, call.func.end_col_offset or 0)
    after_paren = source.index("(", func_end) + 1
    rest = _LINE.match(source, after_paren).group()  # type: ignore[union-attr]
    if not rest.strip() or rest.strip().startswith("#"):
        for line in lines[call.lineno : (call.end_lineno or call.lineno)]:
            if line.strip() and not line.strip().startswith("#"):
                return _indentation(line)
    # Arguments start beside the parenthesis: follow one that starts a later line
    # (aligned arguments), else indent one level.
    arguments: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    for node in arguments:
        line = lines[node.lineno - 1]
        starts_line = _column(lines, node.lineno, node.col_offset) == len(_indentation(line))
        if node.lineno != call.lineno and starts_line:
            return _indentation(line)
    return call_indent + INDENT


def _apply(source: str, edits: list[_Edit]) -> str:
    edits.sort()
    for before, after in itertools.pairwise(edits):
        if after.start < before.end:
            msg = "two snapshot edits overlap"
            raise RewriteError(msg)
    for edit in reversed(edits):
        source = source[: edit.start] + edit.text + source[edit.end :]
    return source


def _lines(source: str) -> list[str]:
    return [match.group() for match in _LINE.finditer(source) if match.group()]


def _newline(lines: Sequence[str]) -> str:
    for line in lines:
        if line.endswith("\r\n"):
            return "\r\n"
        if line.endswith("\n"):
            return "\n"
    return "\n"


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _column(lines: Sequence[str], lineno: int, byte_offset: int) -> int:
    """Convert ast's UTF-8 byte offset within a line to a character offset."""
    return len(lines[lineno - 1].encode("utf-8")[:byte_offset].decode("utf-8"))


def _offset(lines: Sequence[str], lineno: int, byte_offset: int) -> int:
    return sum(len(line) for line in lines[: lineno - 1]) + _column(lines, lineno, byte_offset)
