"""The example suite: application code against a real, rollback-isolated PostgreSQL."""

import pytest
from reminders.models import Reminder, ReminderList
from reminders.service import add_reminder, complete, open_counts
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def test_seed_data_is_there(snapq_session: Session) -> None:
    assert open_counts(snapq_session) == {"Home": 1}


def test_service_commits_stay_inside_the_test(snapq_session: Session) -> None:
    add_reminder(snapq_session, "Work", "Write the report")
    add_reminder(snapq_session, "Home", "Buy milk")
    assert open_counts(snapq_session) == {"Home": 2, "Work": 1}


def test_previous_test_left_nothing_behind(snapq_session: Session) -> None:
    assert snapq_session.scalar(select(func.count()).select_from(Reminder)) == 1


def test_ids_do_not_depend_on_test_order(snapq_session: Session) -> None:
    reminder = add_reminder(snapq_session, "Home", "Call the plumber")
    assert reminder.id == 2


def test_complete(snapq_session: Session) -> None:
    reminder = add_reminder(snapq_session, "Home", "Take out the bins")
    complete(snapq_session, reminder.id)
    assert open_counts(snapq_session) == {"Home": 1}


def test_constraint_error_then_carry_on(snapq_session: Session) -> None:
    snapq_session.add(ReminderList(name="Home"))
    with pytest.raises(IntegrityError):
        snapq_session.commit()
    snapq_session.rollback()
    assert open_counts(snapq_session) == {"Home": 1}


def test_core_connection(snapq_connection: Connection) -> None:
    titles = snapq_connection.scalars(select(Reminder.title)).all()
    assert titles == ["Water the plants"]
