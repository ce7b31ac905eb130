"""Every test the docs show runs, against the example application, and passes."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from tests.integration.conftest import Runner, doc_block

ROOT = Path(__file__).resolve().parents[2]
# A page's code blocks and headings, in order (a heading inside a block is a comment).
PARTS = re.compile(r"^```(\w*)\n(.*?)^```|^#{1,6} ", re.DOTALL | re.MULTILINE)
# What every block runs with: pytest-asyncio asks for it, and the docs' async tests
# use its default strict mode.
BASE_INI = {"asyncio_default_fixture_loop_scope": "function"}


def doc_tests() -> list[pytest.ParameterSet]:
    """Return the docs' code blocks that define tests, as runnable modules with their ini.

    A block without imports continues the page's previous one (the same test shown
    again with its snapshots recorded): it runs with that block's imports. A ``toml``
    block with a ``[tool.pytest.ini_options]`` table configures the blocks after it,
    up to the next heading (an async page's "auto mode" section, say).
    """
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.stem in OWN_PROJECT_PAGES:
            continue
        imports = ""
        ini: dict[str, object] = {}
        number = 0
        for part in PARTS.finditer(page.read_text()):
            language, block = part.groups()
            if language is None:  # a heading
                ini = {}
            elif language == "toml":
                ini = tomllib.loads(block).get("tool", {}).get("pytest", {}).get("ini_options", ini)
            elif language == "python":
                number += 1
                if "import " in block:
                    imports = "".join(
                        line for line in block.splitlines(keepends=True) if "import " in line
                    )
                if "def test_" in block:
                    module = block if "import " in block else imports + "\n\n" + block
                    options = BASE_INI | ini
                    found.append(pytest.param(module, options, id=f"{page.stem}-{number}"))
    return found


# Pages whose examples are about the reader's own project, not the example application:
# each has a test of its own below.
OWN_PROJECT_PAGES = {"quickstart"}


def pyproject(options: dict[str, object]) -> str:
    """Return a pyproject.toml holding ``options`` (strings and lists of strings)."""
    lines = [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    return "\n".join(["[tool.pytest.ini_options]", *lines, ""])


@pytest.mark.parametrize(("block", "options"), doc_tests())
def test_docs_example_passes(runner: Runner, block: str, options: dict[str, object]) -> None:
    shutil.copytree(ROOT / "examples" / "reminders", runner.pytester.path / "reminders")
    shutil.copy(ROOT / "examples" / "conftest.py", runner.pytester.path / "conftest.py")
    (runner.pytester.path / "pyproject.toml").write_text(pyproject(options))
    runner.pytester.makepyfile(test_docs_example=block)
    # Snapshots the docs show must match; those they leave out are recorded.
    result = runner.run("--snapq-record=missing")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert result.parseoutcomes().get("passed", 0) >= 1


def test_the_docs_show_tests() -> None:
    assert len(doc_tests()) >= 5


MYAPP_MODELS = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    active: Mapped[bool]
"""


def test_the_quickstart_works_as_written(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project laid out as the quickstart says, with its blocks as they are."""
    path = runner.pytester.path
    (path / "myapp").mkdir()
    (path / "myapp" / "__init__.py").write_text("")
    (path / "myapp" / "models.py").write_text(MYAPP_MODELS)
    (path / "pyproject.toml").write_text(doc_block("quickstart.md", "pythonpath"))
    (path / "tests").mkdir()
    (path / "tests" / "conftest.py").write_text(
        doc_block("quickstart.md", "def pytest_snapq_setup_database")
    )
    (path / "tests" / "test_users.py").write_text(doc_block("quickstart.md", "def test_"))
    first = runner.run()
    assert first.ret == pytest.ExitCode.TESTS_FAILED, first.stdout.str()  # it recorded
    first.stdout.fnmatch_lines(
        [
            "snapq: record=missing (default), server=embedded PostgreSQL *",
            "snapq wrote 2 inline snapshot(s) (sql= and results= counted separately):",
            "  tests/test_users.py: 2",
        ]
    )
    assert "│ ada    │" in (path / "tests" / "test_users.py").read_text()
    assert runner.run().ret == pytest.ExitCode.OK
    monkeypatch.setenv("CI", "true")
    assert runner.run().ret == pytest.ExitCode.OK
