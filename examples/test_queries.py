"""The example's queries, checked with assert_query: SQL and results as snapshots."""

from reminders.models import Reminder, ReminderList
from reminders.service import add_reminder, titles_per_list
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from snapq import assert_queries, assert_query


def test_open_reminders_per_list(snapq_session: Session) -> None:
    add_reminder(snapq_session, "Work", "Write the report")
    assert_query(
        select(ReminderList.name, func.count(Reminder.id).label("open"))
        .join(Reminder)
        .where(Reminder.done.is_(False))
        .group_by(ReminderList.name)
        .order_by(ReminderList.name),
        sql="""
            SELECT
              reminder_lists.name,
              COUNT(reminders.id) AS open
            FROM reminder_lists
            JOIN reminders
              ON reminder_lists.id = reminders.list_id
            WHERE
              reminders.done IS FALSE
            GROUP BY
              reminder_lists.name
            ORDER BY
              reminder_lists.name
        """,
        results="""
            ┌────────┬────────┐
            │ name   │   open │
            ├────────┼────────┤
            │ Home   │      1 │
            │ Work   │      1 │
            └────────┴────────┘
            (2 rows)
        """,
    )


def test_complete_everything() -> None:
    assert_query(
        update(Reminder).values(done=True).where(Reminder.done.is_(False)),
        sql="""
            UPDATE reminders SET done = TRUE
            WHERE
              reminders.done IS FALSE
        """,
        results="""
            UPDATE 1
        """,
    )


def test_duplicate_list_name_is_refused() -> None:
    assert_query(
        insert(ReminderList).values(name="Home"),
        sql="""
            INSERT INTO reminder_lists (
              name
            )
            VALUES
              ('Home')
            RETURNING reminder_lists.id
        """,
        results="""
            ERROR 23505: duplicate key value violates unique constraint "reminder_lists_name_key"
            DETAIL: Key (name)=(Home) already exists.
        """,
    )


def test_upsert_returns_the_row() -> None:
    assert_query(
        insert(ReminderList)
        .values(name="Home")
        .on_conflict_do_update(index_elements=["name"], set_={"name": "Home (shared)"})
        .returning(ReminderList.id, ReminderList.name),
        sql="""
            INSERT INTO reminder_lists (
              name
            )
            VALUES
              ('Home') ON CONFLICT(name) DO UPDATE SET name = 'Home (shared)'
            RETURNING reminder_lists.id, reminder_lists.name
        """,
        results="""
            ┌──────┬───────────────┐
            │   id │ name          │
            ├──────┼───────────────┤
            │    1 │ Home (shared) │
            └──────┴───────────────┘
            (1 row)
        """,
    )


def test_new_reminder_with_its_creation_time_ignored(snapq_session: Session) -> None:
    add_reminder(snapq_session, "Home", "Call the plumber")
    assert_query(
        select(Reminder.id, Reminder.title, Reminder.created_at).order_by(Reminder.id),
        ignore=["created_at"],
        sql="""
            SELECT
              reminders.id,
              reminders.title,
              reminders.created_at
            FROM reminders
            ORDER BY
              reminders.id
        """,
        results="""
            ┌──────┬──────────────────┬──────────────┐
            │   id │ title            │ created_at   │
            ├──────┼──────────────────┼──────────────┤
            │    1 │ Water the plants │ <ignored>    │
            │    2 │ Call the plumber │ <ignored>    │
            └──────┴──────────────────┴──────────────┘
            (2 rows)
        """,
    )


def test_an_orm_entity_shows_every_mapped_column() -> None:
    assert_query(
        select(ReminderList).order_by(ReminderList.id),
        sql="""
            SELECT
              reminder_lists.id,
              reminder_lists.name
            FROM reminder_lists
            ORDER BY
              reminder_lists.id
        """,
        results="""
            ┌──────┬────────┐
            │   id │ name   │
            ├──────┼────────┤
            │    1 │ Home   │
            └──────┴────────┘
            (1 row)
        """,
    )


def test_titles_per_list_does_not_load_lazily(snapq_session: Session) -> None:
    add_reminder(snapq_session, "Work", "Write the report")
    add_reminder(snapq_session, "Garden", "Cut the hedge")
    snapq_session.expire_all()
    with assert_queries(max_queries=2):
        titles = titles_per_list(snapq_session)
    assert titles == {
        "Home": ["Water the plants"],
        "Work": ["Write the report"],
        "Garden": ["Cut the hedge"],
    }
