"""snapq_session_class: the session class of snapq_session (SQLModel's, say)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Runner, assert_outcomes

MODELS = """
from sqlmodel import Field, SQLModel

class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str

def pytest_snapq_setup_database(connection):
    SQLModel.metadata.create_all(connection)
"""

TESTS = '''
from sqlmodel import Session, select
from snapq import assert_query
from conftest import Hero

def test_sqlmodel_session(snapq_session):
    assert isinstance(snapq_session, Session)
    snapq_session.add(Hero(name="Deadpond"))
    snapq_session.commit()
    heroes = snapq_session.exec(select(Hero)).all()
    assert [hero.name for hero in heroes] == ["Deadpond"]
    assert_query(
        select(Hero.name),
        sql="""
            SELECT
              hero.name
            FROM hero
        """,
        results="""
            ┌──────────┐
            │ name     │
            ├──────────┤
            │ Deadpond │
            └──────────┘
            (1 row)
        """,
    )
'''


@pytest.mark.parametrize(
    "given",
    [
        ("-o", "snapq_session_class=sqlmodel:Session"),
        ("env",),
    ],
    ids=["ini", "env"],
)
def test_snapq_session_is_the_configured_class(
    runner: Runner, monkeypatch: pytest.MonkeyPatch, given: tuple[str, ...]
) -> None:
    runner.pytester.makeconftest(MODELS)
    runner.pytester.makepyfile(test_heroes=TESTS)
    if given == ("env",):
        monkeypatch.setenv("SNAPQ_SESSION_CLASS", "sqlmodel:Session")
        given = ()
    assert_outcomes(runner.run("--snapq-record=never", *given), passed=1)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "sqlmodel:Nope",
            "--snapq-session-class='sqlmodel:Nope': module 'sqlmodel' has no attribute 'Nope'",
        ),
        ("sqlmodel:SQLModel", "'sqlmodel:SQLModel' is not a subclass of sqlalchemy.orm.Session"),
    ],
)
def test_a_session_class_that_is_not_one_is_named_in_the_error(
    runner: Runner, name: str, message: str
) -> None:
    runner.pytester.makeconftest(MODELS)
    runner.pytester.makepyfile("def test_uses_it(snapq_session):\n    pass\n")
    result = runner.run(f"--snapq-session-class={name}")
    assert result.ret != pytest.ExitCode.OK
    assert message in result.stdout.str() + result.stderr.str()


def test_exec_on_the_default_session_names_the_setting(runner: Runner) -> None:
    runner.pytester.makeconftest(MODELS)
    runner.pytester.makepyfile(
        """
        from sqlmodel import select
        from conftest import Hero

        def app_code(session):
            return session.exec(select(Hero)).all()

        def test_forgot_the_setting(snapq_session):
            assert app_code(snapq_session) == []
        """
    )
    result = runner.run()
    assert_outcomes(result, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E *AttributeError: 'Session' object has no attribute 'exec'",
            "E *snapq: snapq_session is SQLAlchemy's Session, which has no exec(). For "
            'SQLModel\'s, set snapq_session_class = "sqlmodel:Session" in the ini file*',
        ]
    )
