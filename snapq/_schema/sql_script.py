"""Split a SQL file, as psql would read it, into statements, COPY data and meta-commands.

Pure text: no database. It knows what a plain ``pg_dump`` writes: statements ended
by a semicolon outside quotes, comments and dollar quotes; ``COPY ... FROM stdin``
followed by its data up to a line ``\\.``; and psql's own backslash commands
(``\\restrict``, ``\\connect``), which are not SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Non-ASCII letters may be part of a tag or a name: [^\x00-\x7f] (not \x80-\uffff,
# which takes milliseconds to compile at import).
_DOLLAR_TAG = re.compile(r"\$(?:(?:[A-Za-z_]|[^\x00-\x7f])(?:[A-Za-z0-9_]|[^\x00-\x7f])*)?\$")
_COPY_FROM_STDIN = re.compile(r"^\s*COPY\b.*\bFROM\s+stdin\b", re.IGNORECASE | re.DOTALL)
_IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9_$]|[^\x00-\x7f]")


@dataclass(frozen=True)
class Statement:
    """One SQL statement, without its semicolon; ``line`` is where it starts (from 1)."""

    text: str
    line: int


@dataclass(frozen=True)
class CopyData:
    """A ``COPY ... FROM stdin`` statement and the data lines that follow it."""

    statement: Statement
    data: str


@dataclass(frozen=True)
class MetaCommand:
    """A psql backslash command, such as ``\\restrict`` or ``\\connect``."""

    name: str
    text: str
    line: int


Piece = Statement | CopyData | MetaCommand


class ScriptError(ValueError):
    """The file ends inside a quote, a comment or COPY data."""


def split_script(script: str) -> list[Piece]:
    """Return the statements, COPY data and meta-commands of ``script``, in order."""
    return _Splitter(script).pieces()


class _Splitter:
    def __init__(self, script: str) -> None:
        self.text = script
        self.at = 0
        self.found: list[Piece] = []

    def pieces(self) -> list[Piece]:
        while self.at < len(self.text):
            self._skip_blank()
            if self.at >= len(self.text):
                break
            if self.text.startswith("\\", self.at):
                self._meta_command()
                continue
            self._statement()
        return self.found

    def _line(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def _skip_blank(self) -> None:
        """Skip whitespace and comments between statements."""
        while self.at < len(self.text):
            if self.text[self.at].isspace():
                self.at += 1
            elif self.text.startswith("--", self.at):
                self.at = self._end_of_line(self.at)
            elif self.text.startswith("/*", self.at):
                self.at = self._block_comment_end(self.at)
            else:
                return

    def _end_of_line(self, offset: int) -> int:
        end = self.text.find("\n", offset)
        return len(self.text) if end == -1 else end + 1

    def _meta_command(self) -> None:
        end = self._end_of_line(self.at)
        text = self.text[self.at : end].strip()
        name = text.split(maxsplit=1)[0].removeprefix("\\")
        self.found.append(MetaCommand(name, text, self._line(self.at)))
        self.at = end

    def _statement(self) -> None:
        start = self.at
        end = self._statement_end(start)
        statement = Statement(self.text[start:end].strip(), self._line(start))
        self.at = end + 1  # past the semicolon
        if _COPY_FROM_STDIN.match(statement.text):
            self.found.append(CopyData(statement, self._copy_data()))
        else:
            self.found.append(statement)

    def _statement_end(self, offset: int) -> int:
        """Return the offset of the semicolon that ends the statement at ``offset``, or
        the end of the text for a last statement without one."""
        text = self.text
        while offset < len(text):
            char = text[offset]
            if char == ";":
                return offset
            if char == "'":
                escapes = offset > 0 and text[offset - 1] in "eE" and not self._in_word(offset - 1)
                offset = self._quote_end(offset, "'", backslash=escapes)
            elif char == '"':
                offset = self._quote_end(offset, '"', backslash=False)
            elif (
                char == "$"
                and (match := _DOLLAR_TAG.match(text, offset))
                and not self._in_word(offset)
            ):
                closing = text.find(match.group(), match.end())
                if closing == -1:
                    raise ScriptError(
                        f"line {self._line(offset)}: a {match.group()} quote never ends"
                    )
                offset = closing + len(match.group())
            elif text.startswith("--", offset):
                offset = self._end_of_line(offset)
            elif text.startswith("/*", offset):
                offset = self._block_comment_end(offset)
            else:
                offset += 1
        return offset

    def _in_word(self, offset: int) -> bool:
        """Tell whether the character before ``offset`` continues an identifier."""
        return offset > 0 and bool(_IDENTIFIER_CHAR.match(self.text[offset - 1]))

    def _quote_end(self, offset: int, quote: str, *, backslash: bool) -> int:
        at = offset + 1
        while at < len(self.text):
            char = self.text[at]
            if backslash and char == "\\":
                at += 2
                continue
            if char == quote:
                if self.text.startswith(quote, at + 1):  # doubled: part of the text
                    at += 2
                    continue
                return at + 1
            at += 1
        raise ScriptError(f"line {self._line(offset)}: a {quote} quote never ends")

    def _block_comment_end(self, offset: int) -> int:
        depth, at = 0, offset
        while at < len(self.text):
            if self.text.startswith("/*", at):
                depth, at = depth + 1, at + 2
            elif self.text.startswith("*/", at):
                depth, at = depth - 1, at + 2
                if depth == 0:
                    return at
            else:
                at += 1
        raise ScriptError(f"line {self._line(offset)}: a /* comment never ends")

    def _copy_data(self) -> str:
        """Return the data lines after a COPY ... FROM stdin, up to the line ``\\.``."""
        start = self._end_of_line(self.at)  # the rest of the COPY statement's line
        at = start
        while at < len(self.text):
            end = self._end_of_line(at)
            if self.text[at:end].rstrip("\r\n") == "\\.":
                self.at = end
                return self.text[start:at]
            at = end
        raise ScriptError(f"line {self._line(start)}: COPY data without its ending line \\.")
