"""Reading what the cursor returned: rows under their columns, or the database's error."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.pq import DiagnosticField
from sqlalchemy.exc import DBAPIError

from snapq._sql.execute import query_error, rows_result
from snapq._sql.result import Column, QueryError, QueryResult

INT4 = 23
TEXT = 25


def wrapped(original: Exception) -> DBAPIError:
    """Return ``original`` as SQLAlchemy hands it on: wrapped, with the statement."""
    return DBAPIError("INSERT INTO t VALUES (1)", {}, original)


# rows_result ----------------------------------------------------------------------------


def test_rows_come_under_columns_that_know_their_types() -> None:
    result = rows_result(["id", "name"], [[1, "a"], (2, None)], [INT4, TEXT])
    assert result == QueryResult(
        columns=(Column("id", INT4), Column("name", TEXT)),
        rows=((1, "a"), (2, None)),
        returns_rows=True,
    )


def test_rows_of_any_sequence_become_tuples() -> None:
    result = rows_result(["n"], iter([[1], (2,), range(3, 4)]), [INT4])
    assert result.rows == ((1,), (2,), (3,))
    assert all(type(row) is tuple for row in result.rows)


@pytest.mark.parametrize(
    "type_oids",
    [
        pytest.param((), id="none-reported"),
        pytest.param((INT4,), id="fewer"),
        pytest.param((INT4, TEXT, TEXT), id="more"),
    ],
)
def test_type_oids_that_do_not_match_the_columns_leave_every_type_unknown(
    type_oids: tuple[int, ...],
) -> None:
    result = rows_result(["id", "name"], [(1, "a")], type_oids)
    assert result.columns == (Column("id", None), Column("name", None))


def test_a_type_the_driver_did_not_report_stays_unknown_for_that_column_only() -> None:
    result = rows_result(["id", "name"], [], [INT4, None])
    assert result.columns == (Column("id", INT4), Column("name", None))


def test_no_rows_is_still_a_result_that_returns_rows() -> None:
    result = rows_result(["id"], [], [INT4])
    assert result == QueryResult(columns=(Column("id", INT4),), returns_rows=True)


def test_the_ignored_columns_are_kept() -> None:
    result = rows_result(
        ["id", "created"], [(1, "now")], [INT4, TEXT], ignored=frozenset({"created"})
    )
    assert result.ignored == frozenset({"created"})
    assert result.rows == ((1, "now"),)
    assert rows_result(["id"], [], [INT4]).ignored == frozenset()


# query_error ----------------------------------------------------------------------------


def test_a_server_error_keeps_its_sqlstate_and_message() -> None:
    error = query_error(wrapped(psycopg.errors.UniqueViolation("duplicate key")))
    assert error == QueryError(sqlstate="23505", message="duplicate key")


def test_a_server_error_is_told_by_its_diagnostics_not_its_full_text() -> None:
    original = psycopg.errors.UniqueViolation(
        'duplicate key value violates unique constraint "t_pkey"\n'
        "DETAIL:  Key (id)=(1) already exists.",
        info={
            DiagnosticField.MESSAGE_PRIMARY: (
                b'duplicate key value violates unique constraint "t_pkey"'
            ),
            DiagnosticField.MESSAGE_DETAIL: b"Key (id)=(1) already exists.",
            DiagnosticField.MESSAGE_HINT: b"Pick another id.",
        },
    )
    assert query_error(wrapped(original)) == QueryError(
        sqlstate="23505",
        message='duplicate key value violates unique constraint "t_pkey"',
        detail="Key (id)=(1) already exists.",
        hint="Pick another id.",
    )


def test_an_error_of_the_driver_itself_has_the_client_sqlstate() -> None:
    error = query_error(wrapped(psycopg.Error("client side\n")))
    assert error == QueryError(sqlstate="(client)", message="client side")
