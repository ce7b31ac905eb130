"""The service layer for asyncio: what service.py does, on an AsyncSession."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from reminders.models import Reminder, ReminderList


async def add_reminder(session: AsyncSession, list_name: str, title: str) -> Reminder:
    """Add a reminder to the named list, creating the list if needed, and commit."""
    reminder_list = await session.scalar(select(ReminderList).where(ReminderList.name == list_name))
    if reminder_list is None:
        reminder_list = ReminderList(name=list_name)
        session.add(reminder_list)
    reminder = Reminder(title=title, list=reminder_list)
    session.add(reminder)
    await session.commit()
    return reminder


async def complete(session: AsyncSession, reminder_id: int) -> None:
    """Mark a reminder done and commit."""
    reminder = await session.get_one(Reminder, reminder_id)
    reminder.done = True
    await session.commit()


async def titles_per_list(session: AsyncSession) -> dict[str, list[str]]:
    """Return the reminder titles of every list, loading them all in two queries.

    An async session cannot load a relationship lazily (it would need I/O inside an
    attribute access), so the reminders are loaded eagerly, with ``selectinload``.
    """
    lists = await session.scalars(
        select(ReminderList).options(selectinload(ReminderList.reminders)).order_by(ReminderList.id)
    )
    return {
        reminder_list.name: [r.title for r in reminder_list.reminders] for reminder_list in lists
    }
