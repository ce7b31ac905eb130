"""SQLAlchemy URLs of PostgreSQL servers: checked, pointed at a database, shown safely."""

from __future__ import annotations

from snapq._errors import ConfigError


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
            f"{source}: {url!r} is not a SQLAlchemy URL; "
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
    return parsed.render_as_string(hide_password=False)


def describe_url(url: str) -> str:
    """Return ``url`` fit for display: the password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def with_database(url: str, database: str) -> str:
    """Return ``url`` naming ``database`` instead of the one it names."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)
