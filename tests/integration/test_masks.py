"""Volatile values: UUID keys and timestamps masked once for the run, the same value
the same placeholder in the SQL and the table; ignore= by the column a parameter is
bound to; advice that fits a volatile mismatch."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import Runner, assert_outcomes

MODELS = """
import datetime
import uuid
from sqlalchemy import ForeignKey, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str]
    password: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=func.now())


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str]


def pytest_snapq_setup_database(connection):
    Base.metadata.create_all(connection)


def password_hash(value):
    return "hash" if value.startswith("$2b$") else None
"""

TESTS = """
import secrets
from sqlalchemy import select
from snapq import assert_queries, assert_query
from conftest import Post, User, password_hash


def add_user(session):
    user = User(name="ada", password="$2b$12$" + secrets.token_hex(8))
    session.add(user)
    session.flush()
    session.add_all([Post(user_id=user.id, title="a"), Post(user_id=user.id, title="b")])
    session.flush()
    return user


def test_rows_and_their_relationships(snapq_session):
    user = add_user(snapq_session)
    assert_query(select(User.id, User.name, User.created_at))
    assert_query(
        select(Post.id, Post.user_id, Post.title).where(Post.user_id == user.id).order_by(Post.title)
    )


def test_a_project_mask(snapq_session):
    add_user(snapq_session)
    assert_query(select(User.name, User.password), mask=["uuid", password_hash])


def test_ignore_by_column_after_a_refresh(snapq_session):
    user = add_user(snapq_session)
    snapq_session.expire(user)
    with assert_queries(ignore=["id"], mask=[]):
        snapq_session.refresh(user)


def test_queries_are_masked_too(snapq_session):
    user = add_user(snapq_session)
    with assert_queries():
        snapq_session.get(Post, snapq_session.scalars(select(Post.id)).first())
        snapq_session.execute(select(Post.title).where(Post.user_id == user.id))


def test_in_a_file(snapq_session, snapshot):
    add_user(snapq_session)
    assert_query(select(Post.user_id, Post.title).order_by(Post.title), snapshot=snapshot)
"""


def project(runner: Runner, masks: str = "uuid now") -> None:
    runner.pytester.makeini(f"[pytest]\nsnapq_mask = {masks}\n")
    runner.pytester.makeconftest(MODELS)
    runner.pytester.makepyfile(test_volatile=TESTS)


def test_masked_snapshots_pass_again_though_every_uuid_and_time_differs(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(runner)
    recorded = runner.run("--snapq-record=missing")
    assert recorded.ret == pytest.ExitCode.OK, recorded.stdout.str()
    text = (runner.pytester.path / "test_volatile.py").read_text()
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text), text
    # Numbered by first appearance in each snapshot: the user's id is <uuid 1> in the
    # first; in the second it comes first in the SQL, then in both posts' rows.
    assert "│ <uuid 1> │ ada    │ <now>        │" in text
    assert "posts.user_id = CAST('<uuid 1>' AS UUID)" in text
    assert "│ <uuid 2> │ <uuid 1>  │ a       │" in text
    assert "│ <uuid 3> │ <uuid 1>  │ b       │" in text
    assert "│ <hash 1>   │" in text
    assert "users.id = CAST(:pk_1 AS UUID)" in text  # bound to users.id: ignore=["id"]
    files = list((runner.pytester.path / "snapshots").rglob("*.snapq"))
    assert "<uuid 1>" in files[0].read_text()
    monkeypatch.setenv("CI", "true")
    assert_outcomes(runner.run(), passed=5)
    assert_outcomes(runner.run("-n", "2"), passed=5)


def test_a_mismatch_in_volatile_values_advises_a_mask(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(runner, masks="")
    runner.pytester.makeini("[pytest]\n")
    runner.run("--snapq-record=missing", "-k", "relationships")
    monkeypatch.setenv("CI", "true")
    result = runner.run("-k", "relationships")
    assert_outcomes(result, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*snapq: the snapshot differs only in UUIDs and timestamps (column created_at, id), "
            "values that change on every run: accepting the change would fail again on the next "
            "run. Mask them (snapq_mask = uuid now in the ini file for the whole run, or "
            'mask=*"uuid", "now"* for this call), or leave the columns out with '
            "ignore=*'created_at', 'id'*."
        ]
    )
    assert "--snapshot-update" not in result.stdout.str()
