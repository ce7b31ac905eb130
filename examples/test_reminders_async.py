"""The async part: the async service and a FastAPI app, on snapq's async fixtures."""

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from reminders.api import app, get_session
from reminders.async_service import add_reminder, complete, titles_per_list
from reminders.models import Reminder, ReminderList
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from snapq import assert_queries, assert_query_async

# The repository's pytest configuration leaves pytest-asyncio in strict mode.
pytestmark = pytest.mark.asyncio


async def test_service_commits_stay_inside_the_test(snapq_async_session: AsyncSession) -> None:
    await add_reminder(snapq_async_session, "Work", "Write the report")
    await add_reminder(snapq_async_session, "Home", "Buy milk")
    await assert_query_async(
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
            │ Home   │      2 │
            │ Work   │      1 │
            └────────┴────────┘
            (2 rows)
        """,
    )


async def test_previous_test_left_nothing_behind(snapq_async_session: AsyncSession) -> None:
    assert await snapq_async_session.scalar(select(func.count()).select_from(Reminder)) == 1


async def test_ids_do_not_depend_on_test_order(snapq_async_session: AsyncSession) -> None:
    reminder = await add_reminder(snapq_async_session, "Home", "Call the plumber")
    assert reminder.id == 2


async def test_complete(snapq_async_session: AsyncSession) -> None:
    reminder = await add_reminder(snapq_async_session, "Home", "Take out the bins")
    await complete(snapq_async_session, reminder.id)
    await assert_query_async(
        select(Reminder.title, Reminder.done).order_by(Reminder.id),
        sql="""
            SELECT
              reminders.title,
              reminders.done
            FROM reminders
            ORDER BY
              reminders.id
        """,
        results="""
            ┌───────────────────┬────────┐
            │ title             │ done   │
            ├───────────────────┼────────┤
            │ Water the plants  │ f      │
            │ Take out the bins │ t      │
            └───────────────────┴────────┘
            (2 rows)
        """,
    )


async def test_constraint_error_then_carry_on(snapq_async_session: AsyncSession) -> None:
    snapq_async_session.add(ReminderList(name="Home"))
    with pytest.raises(IntegrityError):
        await snapq_async_session.commit()
    await snapq_async_session.rollback()
    assert await snapq_async_session.scalar(select(func.count()).select_from(ReminderList)) == 1


async def test_titles_per_list_in_two_queries(snapq_async_session: AsyncSession) -> None:
    await add_reminder(snapq_async_session, "Work", "Write the report")
    await add_reminder(snapq_async_session, "Garden", "Cut the hedge")
    snapq_async_session.expire_all()
    with assert_queries(max_queries=2):
        titles = await titles_per_list(snapq_async_session)
    assert titles == {
        "Home": ["Water the plants"],
        "Work": ["Write the report"],
        "Garden": ["Cut the hedge"],
    }


async def test_core_async_connection(snapq_async_connection: AsyncConnection) -> None:
    await assert_query_async(
        select(Reminder.id, Reminder.title),
        sql="""
            SELECT
              reminders.id,
              reminders.title
            FROM reminders
        """,
        results="""
            ┌──────┬──────────────────┐
            │   id │ title            │
            ├──────┼──────────────────┤
            │    1 │ Water the plants │
            └──────┴──────────────────┘
            (1 row)
        """,
    )


@pytest_asyncio.fixture
async def client(snapq_async_session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    async def test_session() -> AsyncIterator[AsyncSession]:
        yield snapq_async_session

    app.dependency_overrides[get_session] = test_session
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    app.dependency_overrides.clear()


async def test_api_adds_a_reminder(client: httpx.AsyncClient) -> None:
    response = await client.post("/lists/Work/reminders", json={"title": "Write the report"})
    assert response.status_code == 201
    assert response.json() == {"id": 2, "title": "Write the report"}
    await assert_query_async(
        select(ReminderList.name, Reminder.title).join(Reminder).order_by(Reminder.id),
        sql="""
            SELECT
              reminder_lists.name,
              reminders.title
            FROM reminder_lists
            JOIN reminders
              ON reminder_lists.id = reminders.list_id
            ORDER BY
              reminders.id
        """,
        results="""
            ┌────────┬──────────────────┐
            │ name   │ title            │
            ├────────┼──────────────────┤
            │ Home   │ Water the plants │
            │ Work   │ Write the report │
            └────────┴──────────────────┘
            (2 rows)
        """,
    )


async def test_api_lists_titles_in_two_queries(client: httpx.AsyncClient) -> None:
    await client.post("/lists/Work/reminders", json={"title": "Write the report"})
    with assert_queries(
        sql="""
            -- 1
            SELECT
              reminder_lists.id,
              reminder_lists.name
            FROM reminder_lists
            ORDER BY
              reminder_lists.id

            -- 2
            SELECT
              reminders.list_id,
              reminders.id,
              reminders.title,
              reminders.done,
              reminders.created_at
            FROM reminders
            WHERE
              reminders.list_id IN (1, 2)
            ORDER BY
              reminders.id

            -- 2 queries
        """,
    ):
        response = await client.get("/lists")
    assert response.json() == {"Home": ["Water the plants"], "Work": ["Write the report"]}
