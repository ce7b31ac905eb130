"""Masks: values that change from run to run, shown in snapshots as placeholders.

Pure text. A mask recognises a kind of value: ``uuid`` every UUID, ``now`` every
timestamp of the test's own time, or a project's own function, which is given a
value's text and returns the name of what it is, or None. In one snapshot, each
distinct value gets one numbered placeholder (``<uuid 1>``, ``<uuid 2>``), the same in
the SQL and in the table, in the order they first appear, so a reader still sees
which row refers to which; every timestamp of the test is one ``<now>``.
"""

from __future__ import annotations

import datetime
import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from snapq._errors import ConfigError
from snapq._sql.result import MaskedCell

MaskFunction = Callable[[str], "str | None"]
BUILT_IN = ("uuid", "now")
UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
TIMESTAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:[+-]\d{2}(?::?\d{2})?|Z)?"
)
STRING_LITERAL = re.compile(r"'((?:[^']|'')*)'")
NOW = "<now>"
# A timestamp counts as the test's own from a second before it began to a second
# after the check: the clock may be read a little apart by the server and by Python.
SLACK = datetime.timedelta(seconds=1)


@dataclass(frozen=True)
class Mask:
    """One kind of volatile value: a built-in (``uuid``, ``now``) or a function."""

    name: str
    function: MaskFunction | None = None


def masks_named(names: Iterable[str | MaskFunction], source: str) -> tuple[Mask, ...]:
    """Return the masks that ``names`` gives: built-in names, ``module:function``
    spellings, or functions; ``source`` names where they came from, for errors."""
    found = []
    for name in names:
        if callable(name):
            found.append(Mask(getattr(name, "__name__", "mask"), name))
        elif name in BUILT_IN:
            found.append(Mask(name))
        else:
            found.append(Mask(name.rpartition(":")[2] or name, _imported(name, source)))
    return tuple(found)


def _imported(spelling: str, source: str) -> MaskFunction:
    module_name, _, attribute = spelling.replace(":", ".").rpartition(".")
    if not module_name:
        msg = (
            f"{source} names the mask {spelling!r}, which is not one of snapq's "
            f"({', '.join(BUILT_IN)}) nor a function as module:function"
        )
        raise ConfigError(msg)
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        msg = f"{source} names the mask {spelling!r}: {error}"
        raise ConfigError(msg) from None
    if not callable(function):
        msg = f"{source} names the mask {spelling!r}, which is not a function"
        raise ConfigError(msg)
    return function  # type: ignore[no-any-return]


@dataclass
class Masking:
    """The masks of one snapshot, with the numbers its values were given."""

    masks: Sequence[Mask]
    since: datetime.datetime | None = None  # when the test began (UTC), for ``now``
    _numbers: dict[tuple[str, str], int] = field(default_factory=dict)

    def sql(self, text: str) -> str:
        """Mask the values in SQL text: UUIDs and timestamps anywhere, a function's
        values in string literals."""
        if any(mask.function for mask in self.masks):
            text = STRING_LITERAL.sub(self._literal, text)
        return self._patterns(text)

    def cell(self, text: str) -> str:
        """Mask a table cell: a function's values whole, UUIDs and timestamps in it."""
        for mask in self.masks:
            if mask.function is not None and (name := mask.function(text)):
                return MaskedCell(self._placeholder(name, text))
        masked = self._patterns(text)
        return text if masked == text else MaskedCell(masked)

    @property
    def active(self) -> bool:
        return bool(self.masks)

    def _literal(self, match: re.Match[str]) -> str:
        value = match.group(1).replace("''", "'")
        for mask in self.masks:
            if mask.function is not None and (name := mask.function(value)):
                return f"'{self._placeholder(name, value)}'"
        return match.group(0)

    def _patterns(self, text: str) -> str:
        names = {mask.name for mask in self.masks if mask.function is None}
        if "uuid" in names:
            text = UUID.sub(lambda match: self._placeholder("uuid", match.group().lower()), text)
        if "now" in names and self.since is not None:
            text = TIMESTAMP.sub(self._timestamp, text)
        return text

    def _timestamp(self, match: re.Match[str]) -> str:
        return NOW if self._of_the_test(match.group()) else match.group()

    def _of_the_test(self, text: str) -> bool:
        assert self.since is not None
        moment = _parsed(text)
        if moment is None:
            return False
        earliest, latest = self.since - SLACK, datetime.datetime.now(datetime.UTC) + SLACK
        if moment.tzinfo is not None:
            return earliest <= moment <= latest
        # A naive value: UTC (datetime.utcnow, a timestamp column) or local time.
        as_utc = moment.replace(tzinfo=datetime.UTC)
        as_local = moment.astimezone(datetime.UTC)
        return any(earliest <= guess <= latest for guess in (as_utc, as_local))

    def _placeholder(self, name: str, value: str) -> str:
        key = (name, value)
        if key not in self._numbers:
            self._numbers[key] = 1 + sum(1 for kind, _ in self._numbers if kind == name)
        return f"<{name} {self._numbers[key]}>"


def _parsed(text: str) -> datetime.datetime | None:
    text = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{2}$", text):  # PostgreSQL's +00: Python wants +00:00
        text += ":00"
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def volatile_kinds(expected: str, actual: str) -> list[str]:
    """Return the masks that would make ``expected`` and ``actual`` alike, where they
    differ in nothing but UUIDs and timestamps (values that change on every run);
    else nothing."""
    if expected == actual:
        return []

    def generic(text: str) -> str:
        return TIMESTAMP.sub("<timestamp>", UUID.sub("<uuid>", text))

    if generic(expected) != generic(actual):
        return []
    kinds = []
    if UUID.findall(expected) != UUID.findall(actual):
        kinds.append("uuid")
    if TIMESTAMP.findall(UUID.sub("", expected)) != TIMESTAMP.findall(UUID.sub("", actual)):
        kinds.append("now")
    return kinds
