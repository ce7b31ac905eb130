"""snapq: snapshot tests for SQLAlchemy queries on a real, rollback-isolated PostgreSQL."""

from snapq._assert import assert_query
from snapq._config import RecordMode
from snapq._errors import (
    ConfigError,
    IsolationError,
    PostgresNotFoundError,
    ProvisioningError,
    ServerStartError,
    ServerUnreachableError,
    SetupHookError,
    SnapqError,
    SnapshotFileError,
)
from snapq._queries import assert_queries

__all__ = [
    "ConfigError",
    "IsolationError",
    "PostgresNotFoundError",
    "ProvisioningError",
    "RecordMode",
    "ServerStartError",
    "ServerUnreachableError",
    "SetupHookError",
    "SnapqError",
    "SnapshotFileError",
    "assert_queries",
    "assert_query",
]
