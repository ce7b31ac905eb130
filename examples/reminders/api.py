"""A small FastAPI application on the async service layer."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from reminders import async_service

engine = create_async_engine(
    os.environ.get("DATABASE_URL", "postgresql+psycopg://localhost/reminders")
)
new_session = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    """Give each request a session of its own, closed after the response."""
    async with new_session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

app = FastAPI()


class NewReminder(BaseModel):
    title: str


class CreatedReminder(BaseModel):
    id: int
    title: str


@app.post("/lists/{list_name}/reminders", status_code=201)
async def add_reminder(list_name: str, new: NewReminder, session: SessionDep) -> CreatedReminder:
    reminder = await async_service.add_reminder(session, list_name, new.title)
    return CreatedReminder(id=reminder.id, title=reminder.title)


@app.post("/reminders/{reminder_id}/done", status_code=204)
async def complete(reminder_id: int, session: SessionDep) -> None:
    await async_service.complete(session, reminder_id)


@app.get("/lists")
async def titles_per_list(session: SessionDep) -> dict[str, list[str]]:
    return await async_service.titles_per_list(session)
