"""The service layer: what the application does, committing as real code does."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from reminders.models import Reminder, ReminderList


def add_reminder(session: Session, list_name: str, title: str) -> Reminder:
    """Add a reminder to the named list, creating the list if needed, and commit."""
    reminder_list = session.scalar(select(ReminderList).where(ReminderList.name == list_name))
    if reminder_list is None:
        reminder_list = ReminderList(name=list_name)
        session.add(reminder_list)
    reminder = Reminder(title=title, list=reminder_list)
    session.add(reminder)
    session.commit()
    return reminder


def complete(session: Session, reminder_id: int) -> None:
    """Mark a reminder done and commit."""
    reminder = session.get_one(Reminder, reminder_id)
    reminder.done = True
    session.commit()


def open_counts(session: Session) -> dict[str, int]:
    """Return the number of open reminders per list name."""
    rows = session.execute(
        select(ReminderList.name, func.count(Reminder.id))
        .join(Reminder, isouter=True)
        .where(Reminder.done.is_not(True))
        .group_by(ReminderList.name)
        .order_by(ReminderList.name)
    )
    return {name: count for name, count in rows}


def titles_per_list(session: Session) -> dict[str, list[str]]:
    """Return the reminder titles of every list, loading them all in two queries."""
    lists = session.scalars(
        select(ReminderList).options(selectinload(ReminderList.reminders)).order_by(ReminderList.id)
    )
    return {
        reminder_list.name: [r.title for r in reminder_list.reminders] for reminder_list in lists
    }
