"""alembic_upgrade: the schema from a project's own Alembic migrations, with the
env.py that ``alembic init`` writes and with the connection-sharing recipe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Runner, assert_outcomes, doc_block

FIRST = '''
"""authors"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("authors", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text))
    op.execute("INSERT INTO authors (name) VALUES ('Ursula')")
'''

SECOND = '''
"""books"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "books",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id")),
        sa.Column("title", sa.Text),
    )
    op.execute("INSERT INTO books (author_id, title) VALUES (1, 'Earthsea')")
    {statement}
'''

# The recipe from Alembic's cookbook: use a connection that the caller passes.
SHARING = """
def run_migrations_online() -> None:
    connectable = config.attributes.get("connection", None)
    if connectable is None:
        connectable = engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
        with connectable.connect() as connection:
            do_run_migrations(connection)
    else:
        do_run_migrations(connectable)


def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
"""

# An env.py that takes its URL from the application's settings: here, another
# database on the same server.
APP_SETTINGS = """
from sqlalchemy.engine import make_url

config.set_main_option(
    "sqlalchemy.url",
    make_url(config.get_main_option("sqlalchemy.url"))
    .set(database="postgres")
    .render_as_string(hide_password=False)
    .replace("%", "%%"),
)
"""
# The application's settings that the docs' env.py recipe reads.
MYAPP_SETTINGS = """
class Settings:
    database_url = "postgresql+psycopg://nobody@/the_applications_database"

settings = Settings()
"""

# The docs' hook, and a logger the application makes before env.py's fileConfig runs.
HOOK = (
    doc_block("schema.md", "alembic_upgrade(connection")
    + """
import logging

APP_LOGGER = logging.getLogger("app")
"""
)

TESTS = """
import logging
from sqlalchemy import text

def test_the_migrations_built_the_schema(snapq_connection):
    rows = snapq_connection.execute(
        text("SELECT a.name, b.title FROM books b JOIN authors a ON a.id = b.author_id")
    )
    assert rows.all() == [("Ursula", "Earthsea")]
    version = snapq_connection.execute(text("SELECT version_num FROM alembic_version"))
    assert version.scalar() == "0002"

def test_env_py_left_logging_as_it_was():
    assert not logging.getLogger("app").disabled
"""


# env.py lines that set the application's URL the common way, without the docs' guard.
ENV_PY_OWN_URL = {
    "unset": 'import os\nconfig.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"])\n',
    "unreachable": (
        'config.set_main_option("sqlalchemy.url", '
        '"postgresql+psycopg://nobody@127.0.0.1:9/app?connect_timeout=5")\n'
    ),
}


def alembic_project(path: Path, *, statement: str = "pass", env_py: str | None = None) -> None:
    """Write a project as ``alembic init`` makes it, with two migrations."""
    subprocess.run(
        [sys.executable, "-m", "alembic", "init", "alembic"],
        cwd=path,
        check=True,
        capture_output=True,
    )
    versions = path / "alembic" / "versions"
    (versions / "0001_authors.py").write_text(FIRST)
    (versions / "0002_books.py").write_text(SECOND.format(statement=statement))
    env = path / "alembic" / "env.py"
    text = env.read_text()
    if env_py == "sharing":
        start = text.index("def run_migrations_online")
        end = text.index("if context.is_offline_mode()")
        text = text[:start] + SHARING + "\n\n" + text[end:]
    elif env_py == "app-settings":
        text = text.replace("target_metadata = None", "target_metadata = None\n" + APP_SETTINGS)
    elif env_py in ENV_PY_OWN_URL:
        line = ENV_PY_OWN_URL[env_py]
        text = text.replace("target_metadata = None", "target_metadata = None\n" + line)
    elif env_py == "documented-app-settings":
        recipe = doc_block("schema.md", "settings.database_url")
        text = text.replace("target_metadata = None", "target_metadata = None\n" + recipe)
        (path / "myapp").mkdir()
        (path / "myapp" / "__init__.py").write_text("")
        (path / "myapp" / "settings.py").write_text(MYAPP_SETTINGS)
    env.write_text(text)


@pytest.mark.parametrize("env_py", ["default", "sharing", "documented-app-settings"])
def test_the_projects_migrations_build_the_template(runner: Runner, env_py: str) -> None:
    alembic_project(runner.pytester.path, env_py=env_py)
    runner.pytester.makeconftest(HOOK)
    runner.pytester.makepyfile(test_migrated=TESTS)
    assert_outcomes(runner.run(), passed=2)


def test_an_env_py_that_connects_elsewhere_is_stopped_before_it_runs(runner: Runner) -> None:
    alembic_project(runner.pytester.path, env_py="app-settings")
    runner.pytester.makeconftest(HOOK)
    runner.pytester.makepyfile(
        test_migrated="""
        from sqlalchemy import create_engine, text

        def test_uses_the_database(snapq_connection):
            pass
        """
    )
    result = runner.run()
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*alembic_upgrade: env.py connected to database 'postgres' at *, not to the "
            "database snapq is building (*), so snapq stopped it before it ran anything "
            "there. Make env.py use the connection snapq passes*"
        ]
    )


def test_a_failing_migration_names_its_revision_statement_and_error(runner: Runner) -> None:
    alembic_project(runner.pytester.path, statement='op.execute("INSERT INTO nowhere VALUES (1)")')
    runner.pytester.makeconftest(HOOK)
    runner.pytester.makepyfile("def test_uses_the_database(snapq_connection):\n    pass\n")
    result = runner.run()
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*alembic_upgrade: migration 0002 (0002_books.py) failed, so no template database "
            "was made:",
            "*INSERT INTO nowhere VALUES (1)",
            '*UndefinedTable: relation "nowhere" does not exist*',
        ]
    )


@pytest.mark.parametrize(
    ("env_py", "explained"),
    [
        (
            "unset",
            [
                "*alembic_upgrade: the upgrade to 'head' failed, so no template database was made:",
                "*KeyError: 'DATABASE_URL'",
                "*env.py failed at line *, before any migration ran. If it reads its URL from "
                "the application's settings, it must leave that out when snapq passes a "
                "connection: set it only when config.attributes has no 'connection'*",
            ],
        ),
        (
            "unreachable",
            [
                "*alembic_upgrade: the upgrade to 'head' failed, so no template database was made:",
                "*OperationalError: *",
                "*This happened while connecting: env.py connects to a server of its own "
                "instead of using the connection snapq passes, config.attributes*",
            ],
        ),
    ],
)
def test_an_env_py_that_sets_its_own_url_is_explained(
    runner: Runner, env_py: str, explained: list[str]
) -> None:
    alembic_project(runner.pytester.path, env_py=env_py)
    runner.pytester.makeconftest(HOOK)
    runner.pytester.makepyfile("def test_uses_the_database(snapq_connection):\n    pass\n")
    result = runner.run()
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(explained)
    assert "  None" not in result.stdout.lines
