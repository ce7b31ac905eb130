from __future__ import annotations

import pytest

from snapq._config import (
    SPECS,
    AsyncDriver,
    Settings,
    check_spaced_values,
    ini_text,
    resolve_settings,
)
from snapq._database.urls import describe_url, normalize_url
from snapq._errors import ConfigError

# For each setting: the source names users see, and three distinct valid values.
SOURCES = {
    "url": ("--snapq-url", "SNAPQ_URL", "ini snapq_url"),
    "pg_bin": ("--snapq-pg-bin", "SNAPQ_PG_BIN", "ini snapq_pg_bin"),
    "statement_timeout": (
        "--snapq-statement-timeout",
        "SNAPQ_STATEMENT_TIMEOUT",
        "ini snapq_statement_timeout",
    ),
    "lock_timeout": ("--snapq-lock-timeout", "SNAPQ_LOCK_TIMEOUT", "ini snapq_lock_timeout"),
    "idle_in_transaction_timeout": (
        "--snapq-idle-in-transaction-timeout",
        "SNAPQ_IDLE_IN_TRANSACTION_TIMEOUT",
        "ini snapq_idle_in_transaction_timeout",
    ),
}
VALUES = {
    "url": (
        "postgresql+psycopg://option@localhost/postgres",
        "postgresql+psycopg://environ@localhost/postgres",
        "postgresql+psycopg://ini@localhost/postgres",
    ),
    "pg_bin": ("/from/option", "/from/environ", "/from/ini"),
    "statement_timeout": ("1s", "2min", "3h"),
    "lock_timeout": ("4s", "5ms", "6d"),
    "idle_in_transaction_timeout": ("7min", "8s", "9"),
}
DEFAULTS = {
    "url": None,
    "pg_bin": None,
    "statement_timeout": "5min",
    "lock_timeout": "30s",
    "idle_in_transaction_timeout": "10min",
}
LAYERS = ("option", "environ", "ini")


def resolve(
    *,
    options: dict[str, str | None] | None = None,
    environ: dict[str, str] | None = None,
    ini: dict[str, str | None] | None = None,
) -> Settings:
    return resolve_settings(options=options or {}, environ=environ or {}, ini=ini or {})


def given(name: str, layers: tuple[str, ...]) -> Settings:
    """Resolve with setting ``name`` given in each of ``layers``, a different value in each."""
    env_var = SOURCES[name][1]
    key = "snapq_" + name
    option, environ, ini = VALUES[name]
    return resolve(
        options={key: option} if "option" in layers else {},
        environ={env_var: environ} if "environ" in layers else {},
        ini={key: ini} if "ini" in layers else {},
    )


@pytest.mark.parametrize("name", SOURCES)
@pytest.mark.parametrize(
    "layers",
    [
        ("option",),
        ("environ",),
        ("ini",),
        ("option", "environ", "ini"),
        ("option", "environ"),
        ("option", "ini"),
        ("environ", "ini"),
    ],
)
def test_the_first_layer_given_wins_and_is_named(name: str, layers: tuple[str, ...]) -> None:
    winner = LAYERS.index(layers[0])
    setting = getattr(given(name, layers), name)
    assert setting.value == VALUES[name][winner]
    assert setting.source == SOURCES[name][winner]


@pytest.mark.parametrize("name", SOURCES)
def test_default_when_given_nowhere(name: str) -> None:
    setting = getattr(resolve(), name)
    assert setting.value == DEFAULTS[name]
    assert setting.source == "default"


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_empty_values_count_as_unset(empty: str | None) -> None:
    settings = resolve(
        options={"snapq_lock_timeout": empty, "snapq_pg_bin": empty},
        environ={"SNAPQ_LOCK_TIMEOUT": empty or "", "SNAPQ_PG_BIN": "/from/environ"},
        ini={"snapq_lock_timeout": empty, "snapq_pg_bin": "/from/ini"},
    )
    assert settings.lock_timeout.value == "30s"
    assert settings.lock_timeout.source == "default"
    assert settings.pg_bin.value == "/from/environ"
    assert settings.pg_bin.source == "SNAPQ_PG_BIN"


def test_values_are_stripped() -> None:
    settings = resolve(environ={"SNAPQ_LOCK_TIMEOUT": "  45s\n", "SNAPQ_PG_BIN": " /opt/pg/bin "})
    assert settings.lock_timeout.value == "45s"
    assert settings.pg_bin.value == "/opt/pg/bin"


def test_unrelated_environment_variables_are_ignored() -> None:
    settings = resolve(environ={"DATABASE_URL": "postgresql://x@h/db", "SNAPQ_UNKNOWN": "1"})
    assert settings.url.value is None


# URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://localhost/postgres", "postgresql+psycopg://localhost/postgres"),
        (
            "postgresql://alice:s3cret@db.example:6543/app",
            "postgresql+psycopg://alice:s3cret@db.example:6543/app",
        ),
        (
            "postgresql+psycopg://alice:s3cret@db.example/app",
            "postgresql+psycopg://alice:s3cret@db.example/app",
        ),
        (
            "postgresql:///app?host=/run/postgresql",
            "postgresql+psycopg:///app?host=%2Frun%2Fpostgresql",
        ),
    ],
)
def test_normalize_url_uses_psycopg_and_keeps_the_password(url: str, expected: str) -> None:
    assert normalize_url(url, "SNAPQ_URL") == expected


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])  # libpq accepts both
def test_resolved_url_is_normalised_and_keeps_its_source(scheme: str) -> None:
    settings = resolve(ini={"snapq_url": f"{scheme}://u:p@localhost/postgres"})
    assert settings.url.value == "postgresql+psycopg://u:p@localhost/postgres"
    assert settings.url.source == "ini snapq_url"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://u@localhost/postgres",
        "postgresql+asyncpg://u@localhost/postgres",
        "postgresql+pg8000://u@localhost/postgres",
    ],
)
def test_other_postgresql_drivers_are_refused_naming_the_fix(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        normalize_url(url, "--snapq-url")
    message = str(raised.value)
    assert message.startswith("--snapq-url: ")
    assert "postgresql+psycopg://" in message
    assert url.partition("://")[0] + "://" in message


@pytest.mark.parametrize(
    ("url", "backend"),
    [("mysql://u@localhost/db", "'mysql'"), ("sqlite:///tmp/x.db", "'sqlite'")],
)
def test_other_databases_are_refused(url: str, backend: str) -> None:
    with pytest.raises(ConfigError, match="needs a PostgreSQL server") as raised:
        normalize_url(url, "SNAPQ_URL")
    assert backend in str(raised.value)
    assert str(raised.value).startswith("SNAPQ_URL: ")


@pytest.mark.parametrize("url", ["garbage", "localhost:5432", "://nothing", "postgresql:/x"])
def test_garbage_is_refused_with_an_example(url: str) -> None:
    with pytest.raises(ConfigError, match="is not a SQLAlchemy URL") as raised:
        normalize_url(url, "ini snapq_url")
    message = str(raised.value)
    assert message.startswith("ini snapq_url: ")
    assert repr(url) in message
    assert "postgresql+psycopg://" in message


def test_a_bad_port_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        normalize_url("postgresql://u@localhost:notaport/postgres", "SNAPQ_URL")


def test_resolve_settings_refuses_a_bad_url_naming_its_source() -> None:
    with pytest.raises(ConfigError, match=r"^SNAPQ_URL: .*postgresql\+psycopg://"):
        resolve(environ={"SNAPQ_URL": "postgresql+psycopg2://u@localhost/postgres"})


def test_describe_url_hides_the_password() -> None:
    described = describe_url("postgresql+psycopg://alice:s3cret@db.example:5432/app")
    assert "s3cret" not in described
    assert described == "postgresql+psycopg://alice:***@db.example:5432/app"


def test_describe_url_without_a_password_is_unchanged() -> None:
    url = "postgresql+psycopg://alice@db.example:5432/app"
    assert describe_url(url) == url


# Timeouts -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["30s", "5min", "0", "250ms", "2h", "1d", "1000"])
def test_valid_timeouts_are_accepted_unchanged(value: str) -> None:
    settings = resolve(options={"snapq_statement_timeout": value})
    assert settings.statement_timeout.value == value
    assert settings.statement_timeout.source == "--snapq-statement-timeout"


@pytest.mark.parametrize("value", ["5 minutes", "-1", "abc", "30S", "1.5s", "5m", "s"])
@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("option", "--snapq-lock-timeout"),
        ("environ", "SNAPQ_LOCK_TIMEOUT"),
        ("ini", "ini snapq_lock_timeout"),
    ],
)
def test_invalid_timeouts_name_the_source_and_the_units(
    value: str, where: str, source: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        resolve(
            options={"snapq_lock_timeout": value} if where == "option" else {},
            environ={"SNAPQ_LOCK_TIMEOUT": value} if where == "environ" else {},
            ini={"snapq_lock_timeout": value} if where == "ini" else {},
        )
    message = str(raised.value)
    assert message.startswith(f"{source}={value!r} ")
    assert "ms, s, min, h or d" in message
    assert "0 to disable" in message


def test_non_ascii_digits_are_not_a_duration() -> None:
    """PostgreSQL only reads ASCII digits, so the server would refuse this at connect time."""
    with pytest.raises(ConfigError):
        resolve(environ={"SNAPQ_LOCK_TIMEOUT": "\u0663s"})


def test_server_options_pin_display_settings_and_apply_the_timeouts() -> None:
    assert resolve().server_options() == (
        "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=1"
        " -c lc_monetary=C -c lc_numeric=C -c bytea_output=hex -c client_encoding=UTF8"
        " -c statement_timeout=5min -c lock_timeout=30s"
        " -c idle_in_transaction_session_timeout=10min"
    )


def test_server_options_use_the_resolved_values() -> None:
    settings = resolve(
        options={"snapq_statement_timeout": "0"},
        environ={"SNAPQ_LOCK_TIMEOUT": "250ms"},
        ini={"snapq_idle_in_transaction_timeout": "1h"},
    )
    assert settings.server_options().split()[-6:] == [
        "-c",
        "statement_timeout=0",
        "-c",
        "lock_timeout=250ms",
        "-c",
        "idle_in_transaction_session_timeout=1h",
    ]


# The connect timeout -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("option", "--snapq-connect-timeout"),
        ("environ", "SNAPQ_CONNECT_TIMEOUT"),
        ("ini", "ini snapq_connect_timeout"),
    ],
)
def test_connect_timeout_is_whole_seconds_from_any_source(where: str, source: str) -> None:
    settings = resolve(
        options={"snapq_connect_timeout": "3"} if where == "option" else {},
        environ={"SNAPQ_CONNECT_TIMEOUT": "3"} if where == "environ" else {},
        ini={"snapq_connect_timeout": "3"} if where == "ini" else {},
    )
    assert settings.connect_timeout.value == 3
    assert settings.connect_timeout.source == source


def test_connect_timeout_defaults_to_ten_seconds() -> None:
    assert resolve().connect_timeout.value == 10
    assert resolve().connect_timeout.source == "default"


@pytest.mark.parametrize("value", ["10s", "-1", "1.5", "ten", "\u0663"])
def test_a_connect_timeout_that_is_not_whole_seconds_names_its_source(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        resolve(environ={"SNAPQ_CONNECT_TIMEOUT": value})
    assert str(raised.value).startswith(f"SNAPQ_CONNECT_TIMEOUT={value!r} is not a whole number")


def test_the_async_driver_defaults_to_psycopg() -> None:
    assert resolve().async_driver.value is AsyncDriver.PSYCOPG
    assert resolve().async_driver.defaulted


@pytest.mark.parametrize("value", ["asyncpg", "ASYNCPG", " asyncpg "])
def test_the_async_driver_is_chosen_by_name(value: str) -> None:
    settings = resolve(environ={"SNAPQ_ASYNC_DRIVER": value})
    assert settings.async_driver.value is AsyncDriver.ASYNCPG
    assert settings.async_driver.source == "SNAPQ_ASYNC_DRIVER"


def test_an_unknown_async_driver_names_its_source_and_the_choices() -> None:
    with pytest.raises(ConfigError) as raised:
        resolve(options={"snapq_async_driver": "aiopg"})
    assert str(raised.value) == (
        "--snapq-async-driver='aiopg' is not an async driver: use one of psycopg, asyncpg"
    )


def test_the_session_class_defaults_to_sqlalchemys() -> None:
    assert resolve().session_class.value == "sqlalchemy.orm:Session"


@pytest.mark.parametrize("value", ["sqlmodel:Session", "app.db.Session", "app.db:AppSession"])
def test_the_session_class_is_named_by_module_and_class(value: str) -> None:
    assert resolve(ini={"snapq_session_class": value}).session_class.value == value


@pytest.mark.parametrize("value", ["Session", "not a name", "app:", ":Session", "app:Sess-ion"])
def test_a_session_class_that_is_not_a_name_names_its_source(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        resolve(options={"snapq_session_class": value})
    assert str(raised.value) == (
        f"--snapq-session-class={value!r} is not a class's name: write module:Class or "
        "module.Class, e.g. sqlmodel:Session"
    )


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("ON", True), ("0", False)])
def test_rebuild_is_a_boolean(value: str, expected: bool) -> None:
    assert resolve(environ={"SNAPQ_REBUILD": value}).rebuild.value is expected
    assert resolve().rebuild.value is False


def test_a_rebuild_that_is_not_a_boolean_names_the_accepted_values() -> None:
    with pytest.raises(ConfigError) as raised:
        resolve(ini={"snapq_rebuild": "maybe"})
    assert str(raised.value) == (
        "ini snapq_rebuild='maybe' is not true or false: use one of true, yes, on, 1, "
        "false, no, off, 0"
    )


def test_schema_files_and_extensions_are_lists_of_names() -> None:
    settings = resolve(
        ini={
            "snapq_schema_files": "alembic/versions/*.py\n  app/**/*.py, schema.sql",
            "snapq_extensions": "uuid-ossp pgcrypto,uuid-ossp",
        }
    )
    assert settings.schema_files.value == ("alembic/versions/*.py", "app/**/*.py", "schema.sql")
    assert settings.extensions.value == ("uuid-ossp", "pgcrypto")
    assert resolve().schema_files.value == ()


def test_session_settings_are_what_server_options_send() -> None:
    settings = resolve()
    options = settings.server_options()
    for name, value in settings.session_settings().items():
        assert f"-c {name}={value}" in options


# Passwords -----------------------------------------------------------------------------


def test_a_malformed_url_is_quoted_without_its_password() -> None:
    with pytest.raises(ConfigError) as raised:
        normalize_url("postgresql://ci:pw-s3cret@localhost:${PGPORT}/postgres", "SNAPQ_URL")
    message = str(raised.value)
    assert "pw-s3cret" not in message
    assert "'postgresql://ci:***@localhost:${PGPORT}/postgres' is not a SQLAlchemy URL" in message


def test_a_url_without_a_scheme_is_quoted_without_its_password() -> None:
    with pytest.raises(ConfigError) as raised:
        normalize_url("ci:pw-s3cret@localhost/postgres", "SNAPQ_URL")
    assert "'ci:***@localhost/postgres' is not a SQLAlchemy URL" in str(raised.value)


def test_a_malformed_url_hides_a_password_in_its_query() -> None:
    with pytest.raises(ConfigError) as raised:
        normalize_url("postgresql://ci@localhost:x/postgres?password=pw-s3cret&a=b", "SNAPQ_URL")
    assert "pw-s3cret" not in str(raised.value)
    assert "?password=***&a=b" in str(raised.value)


def test_a_password_with_a_line_break_is_refused_naming_pgpassword() -> None:
    with pytest.raises(ConfigError, match="PGPASSWORD"):
        normalize_url("postgresql://ci:one%0Atwo@localhost/postgres", "SNAPQ_URL")


def test_describe_url_hides_a_password_in_the_query_and_the_password_file() -> None:
    described = describe_url(
        "postgresql+psycopg://alice@db/app?password=s3cret&passfile=%2Frun%2Fpassfile&port=1"
    )
    assert described == "postgresql+psycopg://alice:***@db/app?port=1"


def test_settings_repr_leaves_the_url_out() -> None:
    settings = resolve(environ={"SNAPQ_URL": "postgresql://u:s3cret@localhost/postgres"})
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "host=localhost password=s3cret dbname=x",
        "host=localhost password = 's3cret' dbname=x",
        "postgresql://u@h:${PGPORT}/db?a=1;password=s3cret",
        "postgresql://u@h:${PGPORT}/db?sslmode=require&PASSWORD=s3cret",
    ],
)
def test_a_url_that_does_not_parse_is_quoted_without_any_password(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        normalize_url(url, "SNAPQ_URL")
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    "args",
    [
        ["--snapq-pg-bin=/opt/pg/bin", "tests"],
        ["--snapq-url", "postgresql://localhost/app"],  # not a path
        ["--snapq-record", "never"],
        ["tests", "--snapq-rebuild", "tests"],  # a boolean flag's value is its own matter
        ["--snapq-pg-bin"],
    ],
)
def test_values_after_a_space_that_are_no_paths_pass(args: list[str]) -> None:
    check_spaced_values(args, is_path=lambda value: value.startswith(("/", "tests")))


def test_a_path_after_a_space_is_refused_naming_both_fixes() -> None:
    with pytest.raises(ConfigError) as raised:
        check_spaced_values(["-x", "--snapq-pg-bin", "/opt/pg/bin"], is_path=lambda _: True)
    assert str(raised.value) == (
        "--snapq-pg-bin /opt/pg/bin: pytest took '/opt/pg/bin' for a test path while it looked "
        "for the rootdir and the ini file, so it may have chosen another rootdir and not read "
        "your ini file. Write --snapq-pg-bin=/opt/pg/bin, or set SNAPQ_PG_BIN."
    )


def test_an_ini_list_is_taken_where_the_setting_lists_names() -> None:
    assert ini_text(SPECS["mask"], ["uuid", "now"]) == "uuid now"
    assert ini_text(SPECS["mask"], []) is None
    assert ini_text(SPECS["record"], "never") == "never"
    assert ini_text(SPECS["record"], "") is None
    with pytest.raises(ConfigError, match=r"ini snapq_record takes one value, not a list"):
        ini_text(SPECS["record"], ["never"])
