"""SQLAlchemy URLs of PostgreSQL servers: checked, pointed at a database, shown safely,
and parted from their password (see ``passfile``)."""

from __future__ import annotations

import re

from snapq._errors import ConfigError

# Query parameters that hold a password, or say where libpq finds one.
SECRET_PARAMETERS = ("password", "passfile")


def normalize_url(url: str, source: str) -> str:
    """Check that ``url`` names a PostgreSQL server reachable with psycopg 3.

    ``postgresql://`` gets the psycopg driver; other drivers are refused, because
    snapq's isolation and rendering rely on psycopg 3.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - parsing the port is what catches a bad one
    except (ArgumentError, ValueError):
        msg = (
            f"{source}: {_masked(url)!r} is not a SQLAlchemy URL; "
            "expected e.g. postgresql+psycopg://user:password@localhost:5432/postgres"
        )
        raise ConfigError(msg) from None
    if parsed.drivername == "postgres":  # libpq's other scheme, as in many DATABASE_URLs
        parsed = parsed.set(drivername="postgresql")
    if parsed.get_backend_name() != "postgresql":
        msg = f"{source}: snapq needs a PostgreSQL server, not {parsed.get_backend_name()!r}"
        raise ConfigError(msg)
    driver = parsed.get_driver_name()
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif driver != "psycopg":
        msg = (
            f"{source}: snapq connects with psycopg 3; "
            f"write postgresql+psycopg:// instead of {parsed.drivername}://"
        )
        raise ConfigError(msg)
    normalized = parsed.render_as_string(hide_password=False)
    password = split_password(normalized)[1]
    if password is not None and ("\n" in password or "\r" in password):
        msg = (
            f"{source}: the URL's password holds a line break, which libpq's password file "
            "cannot; leave it out of the URL and set PGPASSWORD instead"
        )
        raise ConfigError(msg)
    return normalized


def describe_url(url: str) -> str:
    """Return ``url`` fit for display: the password, and the file that holds it, hidden."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    secret = parsed.password or any(name in parsed.query for name in SECRET_PARAMETERS)
    parsed = parsed.difference_update_query(SECRET_PARAMETERS)
    if secret:
        parsed = parsed.set(password="hidden")  # noqa: S106 - a placeholder, shown as ***
    return parsed.render_as_string(hide_password=True)


def split_password(url: str) -> tuple[str, str | None]:
    """Return ``url`` without its password, and the password (None when it has none).

    The password is the one psycopg would be given: the query's ``password``, which
    SQLAlchemy passes over the URL's own, else the URL's own. An empty one is none.
    """
    from sqlalchemy.engine import URL, make_url

    parsed = make_url(url)
    given = parsed.query.get("password")
    password = (given[-1] if isinstance(given, tuple) else given) or parsed.password or None
    bare = URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.difference_update_query(["password"]).query,
    )
    return bare.render_as_string(hide_password=False), password


def with_passfile(url: str, passfile: str) -> str:
    """Return ``url`` with libpq's ``passfile`` parameter: where its password is."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).update_query_dict({"passfile": passfile})
    return parsed.render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """Return ``url`` naming ``database`` instead of the one it names."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


# From "user:" (after the scheme, if any) to the last "@": more than the password,
# when the URL is too broken to tell, rather than less.
_USERINFO_PASSWORD = re.compile(r"^((?:[\w+.-]*://)?[^:/@]*:).*@")
_ANY_PASSWORD = re.compile(r"(?i)(password\s*=\s*)('[^']*'|[^\s&;]+)")


def _masked(text: str) -> str:
    """Hide whatever may be a password in a URL that does not parse: in its user
    part, and after ``password=`` anywhere (a query, libpq's key=value form)."""
    text = _USERINFO_PASSWORD.sub(r"\1***@", text, count=1)
    return _ANY_PASSWORD.sub(r"\1***", text)
