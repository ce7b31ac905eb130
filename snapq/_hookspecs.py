"""The hooks snapq adds to pytest."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy import Connection


@pytest.hookspec
def pytest_snapq_setup_database(connection: Connection) -> None:
    """Build the schema and seed data of the template database, once per test run.

    Implement it in a ``conftest.py``. Every implementation runs, outermost conftest
    first, on one connection in one transaction that is committed afterwards; every
    worker's database is then a copy of the result. If an implementation raises, the
    run stops and no half-built template is used.
    """
