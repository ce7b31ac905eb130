"""Build the example's schema and seed data once per run, in snapq's template database."""

from reminders.models import Base, Reminder, ReminderList
from sqlalchemy import Connection, insert


def pytest_snapq_setup_database(connection: Connection) -> None:
    Base.metadata.create_all(connection)
    home = connection.scalar(insert(ReminderList).values(name="Home").returning(ReminderList.id))
    connection.execute(insert(Reminder).values(list_id=home, title="Water the plants"))
