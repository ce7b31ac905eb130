"""snapq: snapshot tests for SQLAlchemy queries on a real, rollback-isolated PostgreSQL."""

from snapq._assert import assert_query
from snapq._assert_async import assert_query_async
from snapq._config import RecordMode
from snapq._errors import (
    ConfigError,
    IsolationError,
    PostgresNotFoundError,
    ProvisioningError,
    SchemaError,
    ServerSilentError,
    ServerStartError,
    ServerUnreachableError,
    SetupHookError,
    SnapqError,
    SnapshotFileError,
    UnshowableValueError,
)
from snapq._queries import assert_queries
from snapq._schema.migrations import alembic_upgrade
from snapq._schema.sql_files import load_sql

__all__ = [
    "ConfigError",
    "IsolationError",
    "PostgresNotFoundError",
    "ProvisioningError",
    "RecordMode",
    "SchemaError",
    "ServerSilentError",
    "ServerStartError",
    "ServerUnreachableError",
    "SetupHookError",
    "SnapqError",
    "SnapshotFileError",
    "UnshowableValueError",
    "alembic_upgrade",
    "assert_queries",
    "assert_query",
    "assert_query_async",
    "load_sql",
]

# Public classes print as snapq.X, not as the private module that defines them.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type):
        _value.__module__ = __name__
del _name, _value
