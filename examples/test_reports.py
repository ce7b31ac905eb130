"""Reporting queries: window functions, JSONB, and parametrized file snapshots."""

import pytest
from reminders.models import Reminder, ReminderList
from reminders.service import add_reminder
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session
from syrupy.assertion import SnapshotAssertion

from snapq import assert_query


@pytest.fixture
def busy_lists(snapq_session: Session) -> Session:
    for list_name, title in [
        ("Work", "Write the report"),
        ("Work", "Book the room"),
        ("Garden", "Cut the hedge"),
        ("Home", "Buy milk"),
    ]:
        add_reminder(snapq_session, list_name, title)
    return snapq_session


def test_position_of_each_reminder_in_its_list(busy_lists: Session) -> None:
    position = func.row_number().over(partition_by=Reminder.list_id, order_by=Reminder.id)
    assert_query(
        select(ReminderList.name, Reminder.title, position.label("position"))
        .join(Reminder)
        .order_by(ReminderList.name, "position"),
        sql="""
            SELECT
              reminder_lists.name,
              reminders.title,
              ROW_NUMBER() OVER (PARTITION BY reminders.list_id ORDER BY reminders.id) AS position
            FROM reminder_lists
            JOIN reminders
              ON reminder_lists.id = reminders.list_id
            ORDER BY
              reminder_lists.name,
              position
        """,
        results="""
            ┌────────┬──────────────────┬────────────┐
            │ name   │ title            │   position │
            ├────────┼──────────────────┼────────────┤
            │ Garden │ Cut the hedge    │          1 │
            │ Home   │ Water the plants │          1 │
            │ Home   │ Buy milk         │          2 │
            │ Work   │ Write the report │          1 │
            │ Work   │ Book the room    │          2 │
            └────────┴──────────────────┴────────────┘
            (5 rows)
        """,
    )


def test_lists_as_json_documents(busy_lists: Session) -> None:
    titles = func.jsonb_agg(aggregate_order_by(Reminder.title, Reminder.id))
    assert_query(
        select(func.jsonb_build_object("list", ReminderList.name, "titles", titles).label("doc"))
        .join(Reminder)
        .group_by(ReminderList.name)
        .order_by(ReminderList.name),
        sql="""
            SELECT
              JSONB_BUILD_OBJECT(
                'list',
                reminder_lists.name,
                'titles',
                JSONB_AGG(reminders.title ORDER BY reminders.id)
              ) AS doc
            FROM reminder_lists
            JOIN reminders
              ON reminder_lists.id = reminders.list_id
            GROUP BY
              reminder_lists.name
            ORDER BY
              reminder_lists.name
        """,
        results="""
            ┌───────────────────────────────────────────────────────────────────┐
            │ doc                                                               │
            ├───────────────────────────────────────────────────────────────────┤
            │ {"list": "Garden", "titles": ["Cut the hedge"]}                   │
            │ {"list": "Home", "titles": ["Water the plants", "Buy milk"]}      │
            │ {"list": "Work", "titles": ["Write the report", "Book the room"]} │
            └───────────────────────────────────────────────────────────────────┘
            (3 rows)
        """,
    )


@pytest.mark.parametrize("list_name", ["Home", "Work", "Garden"])
def test_open_reminders_of_each_list(
    busy_lists: Session, list_name: str, snapshot: SnapshotAssertion
) -> None:
    assert_query(
        select(Reminder.title)
        .join(ReminderList)
        .where(ReminderList.name == list_name, Reminder.done.is_(False))
        .order_by(Reminder.id),
        snapshot=snapshot,
    )
