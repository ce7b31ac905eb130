"""Masks: volatile values shown as placeholders, numbered by first appearance."""

from __future__ import annotations

import datetime

import pytest

from snapq._errors import ConfigError
from snapq._snapshots.masks import Mask, Masking, masks_named, volatile_kinds
from snapq._sql.render import format_cell
from snapq._sql.result import MaskedCell

A = "613d10d9-64a1-4b54-9a4c-6f8f3b1f2a11"
B = "0b6f1c3e-1f2a-4d7e-8a9b-2c3d4e5f6a7b"
UUIDS = (Mask("uuid"),)


def test_each_uuid_gets_one_number_in_the_sql_and_the_cells_in_order_of_appearance() -> None:
    masking = Masking(UUIDS)
    assert masking.sql(f"WHERE a = '{B}' AND b = '{A.upper()}'") == (
        "WHERE a = '<uuid 1>' AND b = '<uuid 2>'"
    )
    assert masking.cell(A) == "<uuid 2>"
    assert masking.cell(f"{{{B},{A}}}") == "{<uuid 1>,<uuid 2>}"
    assert isinstance(masking.cell(A), MaskedCell)
    assert masking.cell("no uuid here") == "no uuid here"
    assert not isinstance(masking.cell("no uuid here"), MaskedCell)


def test_now_masks_only_the_tests_own_time() -> None:
    began = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
    masking = Masking((Mask("now"),), since=began)
    during = (began + datetime.timedelta(seconds=2)).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert masking.cell(f"{during}+00") == "<now>"
    assert masking.cell(during) == "<now>"  # naive: read as UTC
    assert masking.cell("2020-01-01 00:00:00+00") == "2020-01-01 00:00:00+00"
    assert masking.sql(f"VALUES ('{during}')") == "VALUES ('<now>')"


def test_a_projects_function_names_whole_values_in_cells_and_in_sql_literals() -> None:
    def token(value: str) -> str | None:
        return "token" if value.startswith("tok_") else None

    masking = Masking(masks_named(["uuid", token], "mask="))
    assert masking.sql("WHERE t = 'tok_abc' AND u = 'plain'") == (
        "WHERE t = '<token 1>' AND u = 'plain'"
    )
    assert masking.cell("tok_abc") == "<token 1>"
    assert masking.cell("tok_def") == "<token 2>"


def test_a_value_that_reads_like_a_placeholder_is_quoted_so_it_is_not_taken_for_one() -> None:
    assert format_cell("<uuid 1>") == "'<uuid 1>'"
    assert format_cell("<now>") == "'<now>'"
    assert format_cell(MaskedCell("<uuid 1>")) == "<uuid 1>"


@pytest.mark.parametrize(
    ("spelling", "message"),
    [
        ("uuids", "names the mask 'uuids', which is not one of snapq's (uuid, now)"),
        ("nowhere:mask", "names the mask 'nowhere:mask': No module named 'nowhere'"),
        ("os:sep", "names the mask 'os:sep', which is not a function"),
    ],
)
def test_a_mask_that_is_not_one_names_its_source(spelling: str, message: str) -> None:
    with pytest.raises(
        ConfigError, match="^ini snapq_mask " + message.replace("(", r"\(").replace(")", r"\)")
    ):
        masks_named([spelling], "ini snapq_mask")


@pytest.mark.parametrize(
    ("expected", "actual", "kinds"),
    [
        (f"id = '{A}'", f"id = '{B}'", ["uuid"]),
        ("at 2026-01-01 10:00:00+00", "at 2026-01-02 11:00:00.5+00", ["now"]),
        (f"{A} 2026-01-01 10:00:00", f"{B} 2026-01-01 10:00:01", ["uuid", "now"]),
        (f"{A} ada", f"{B} bob", []),
        ("same", "same", []),
    ],
)
def test_a_difference_only_in_volatile_values_is_told_apart(
    expected: str, actual: str, kinds: list[str]
) -> None:
    assert volatile_kinds(expected, actual) == kinds
