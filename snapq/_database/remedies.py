"""The fixes that provisioning errors name, spelled from the settings they refer to."""

from __future__ import annotations

from snapq._config import SPECS

_URL = SPECS["url"]
_PG_BIN = SPECS["pg_bin"]
_CONNECT_TIMEOUT = SPECS["connect_timeout"]

USE_A_SERVER = f"set {_URL.flag} to use an existing server (or {_URL.other_spellings})"
USE_THE_EMBEDDED_SERVER = f"unset {_URL.spellings} to use snapq's embedded server"
USE_OTHER_BINARIES = f"point {_PG_BIN.spellings} at another PostgreSQL"
WAIT_LONGER = f"give a slow server longer with {_CONNECT_TIMEOUT.spellings}"
POINT_AT_BINARIES = f"point {_PG_BIN.spellings} at the directory holding initdb and postgres"
