"""snapq: snapshot tests for SQLAlchemy queries on a real, rollback-isolated PostgreSQL."""

from snapq._errors import (
    ConfigError,
    IsolationError,
    PostgresNotFoundError,
    ProvisioningError,
    ServerStartError,
    ServerUnreachableError,
    SetupHookError,
    SnapqError,
)

__all__ = [
    "ConfigError",
    "IsolationError",
    "PostgresNotFoundError",
    "ProvisioningError",
    "ServerStartError",
    "ServerUnreachableError",
    "SetupHookError",
    "SnapqError",
]
