"""The exceptions snapq raises.

Every error names what was tried and how to fix it::

    SnapqError
    ├── ConfigError (ValueError)           a setting has a value snapq cannot use
    ├── ProvisioningError (RuntimeError)   no database could be provided
    │   ├── PostgresNotFoundError          no PostgreSQL binaries anywhere
    │   ├── ServerStartError               the embedded server did not start
    │   └── ServerUnreachableError         the server at the URL refused or did not answer
    ├── ServerSilentError (OSError)        the server did not answer in time (frozen?)
    ├── SetupHookError (RuntimeError)      pytest_snapq_setup_database raised
    ├── SchemaError (RuntimeError)         a SQL file or a migration failed to build the schema
    ├── IsolationError (RuntimeError)      a test broke its own isolation
    ├── SnapshotFileError (ValueError)     a snapshot file is damaged or hand-edited
    └── UnshowableValueError (ValueError)  a value cannot be shown as PostgreSQL prints it
"""

from __future__ import annotations


class SnapqError(Exception):
    """Base class of every error snapq raises."""


class ConfigError(SnapqError, ValueError):
    """A setting has a value that snapq cannot use."""


class ProvisioningError(SnapqError, RuntimeError):
    """snapq could not provide a PostgreSQL database."""


class PostgresNotFoundError(ProvisioningError):
    """No PostgreSQL binaries were found for the embedded server."""


class ServerStartError(ProvisioningError):
    """The embedded PostgreSQL server failed to start."""


class ServerUnreachableError(ProvisioningError):
    """The server named by the URL cannot be reached or refused the login."""


class ServerSilentError(SnapqError, OSError):
    """The server did not answer one of snapq's statements in time; snapq closed the
    connection."""


class SetupHookError(SnapqError, RuntimeError):
    """An implementation of ``pytest_snapq_setup_database`` raised."""


class IsolationError(SnapqError, RuntimeError):
    """A test did something that would break its rollback isolation."""


class SnapshotFileError(SnapqError, ValueError):
    """A snapshot file that is not in snapq's format: damaged or edited by hand."""


class UnshowableValueError(SnapqError, ValueError):
    """A result holds a value that snapq cannot show exactly as PostgreSQL prints it
    (the driver gave it in a form that stands for more than one value)."""


class SchemaError(SnapqError, RuntimeError):
    """A SQL file or a migration failed to build the schema."""
