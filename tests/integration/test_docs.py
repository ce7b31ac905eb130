"""Every test the docs show runs, against the example application, and passes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import Runner

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def doc_tests() -> list[pytest.ParameterSet]:
    """Return the docs' code blocks that define tests, as runnable modules.

    A block without imports continues the page's previous one (the same test shown
    again with its snapshots recorded): it runs with that block's imports.
    """
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        imports = ""
        for number, block in enumerate(BLOCK.findall(page.read_text()), start=1):
            if "import " in block:
                imports = "".join(
                    line for line in block.splitlines(keepends=True) if "import " in line
                )
            if "def test_" in block:
                module = block if "import " in block else imports + "\n\n" + block
                found.append(pytest.param(module, id=f"{page.stem}-{number}"))
    return found


@pytest.mark.parametrize("block", doc_tests())
def test_docs_example_passes(runner: Runner, block: str) -> None:
    shutil.copytree(ROOT / "examples" / "reminders", runner.pytester.path / "reminders")
    shutil.copy(ROOT / "examples" / "conftest.py", runner.pytester.path / "conftest.py")
    runner.pytester.makepyfile(test_docs_example=block)
    # Snapshots the docs show must match; those they leave out are recorded.
    result = runner.run("--snapq-record=missing")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert result.parseoutcomes().get("passed", 0) >= 1


def test_the_docs_show_tests() -> None:
    assert len(doc_tests()) >= 5
