"""snapq's pytest plugin: options, hooks and the run's lifecycle.

Loaded through the ``pytest11`` entry point; ``import snapq`` does not load it.
The fixtures live in ``snapq._fixtures`` and are registered from here. Only these
two modules (and the hook specifications) touch pytest's internals.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Generator
from pathlib import Path

import pytest

from snapq import _hookspecs
from snapq._async_fixtures import (  # noqa: F401 - pytest finds the fixtures in this module
    pytest_fixture_setup,
    snapq_async_connection,
    snapq_async_engine,
    snapq_async_session,
)
from snapq._config import (
    SETTINGS,
    Settings,
    SettingSpec,
    check_spaced_values,
    ini_text,
    resolve_settings,
)
from snapq._database.kept import checkout_key
from snapq._database.provision import describe_server
from snapq._database.run import Run, remove_stale_runs
from snapq._errors import ConfigError
from snapq._fixtures import (  # noqa: F401 - pytest finds the fixtures in this module
    STATE,
    _snapq_baseline,
    _snapq_current_test,
    snapq_connection,
    snapq_engine,
    snapq_session,
    snapq_url,
)
from snapq._hints import add_hints
from snapq._state import RunState, WorkerReport

WORKER_RUN_KEY = "snapq_run"  # in xdist's workerinput: the run, from the controller
WORKER_REPORT_KEY = "snapq"  # in xdist's workeroutput: the worker's last WorkerReport
# On a worker's test reports, which xdist sends to the controller as each test ends.
TEST_REPORT_ATTRIBUTE = "snapq_worker_report"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("snapq", "snapq: SQL and result snapshots on PostgreSQL")
    for spec in SETTINGS:
        default = f" Default: {spec.default}." if spec.default else ""
        text = f"{spec.help}{default} Also {spec.other_spellings}."
        alone = {"nargs": "?", "const": "true"} if spec.boolean else {}
        group.addoption(spec.flag, dest=spec.ini_key, default=None, help=text, **alone)
        if spec.listing:  # a TOML list too
            parser.addini(spec.ini_key, text, type="args")
        else:
            parser.addini(spec.ini_key, text)


def pytest_configure(config: pytest.Config) -> None:
    """Resolve the settings, and remove what dead runs left; create nothing: the run
    is created when first needed."""
    config.addinivalue_line(
        "markers",
        "snapq(transaction=True): run the test on a database of its own, copied from the "
        "template, where commits are real; it is restored afterwards",
    )
    try:
        check_spaced_values(_command_line(config), _is_path_from(config.invocation_params.dir))
        settings = resolve_settings(
            options={spec.ini_key: config.getoption(spec.ini_key) for spec in SETTINGS},
            environ=os.environ,
            ini={spec.ini_key: _ini(config, spec) for spec in SETTINGS},
            snapshot_update=bool(config.getoption("update_snapshots", default=False)),
        )
    except ConfigError as error:
        raise pytest.UsageError(f"snapq: {error}") from None
    workerinput = getattr(config, "workerinput", None)
    given = workerinput.get(WORKER_RUN_KEY) if workerinput is not None else None
    state = RunState(
        settings,
        snapshot_extension=_snapshot_extension(config, settings),
        given_run=Run.from_dict(given) if given is not None else None,
        checkout=checkout_key(config.rootpath),
    )
    config.stash[STATE] = state
    if state.owns_run:
        config.pluginmanager.register(_WorkerTestReports(state), "snapq-worker-test-reports")
        if not config.option.help:
            remove_stale_runs()


def _ini(config: pytest.Config, spec: SettingSpec) -> str | None:
    try:
        value = config.getini(spec.ini_key)
    except (ValueError, pytest.UsageError) as error:  # a list it could not split: a quote
        msg = f"ini {spec.ini_key}: {error}: put a name that holds a quote in quotes"
        raise ConfigError(msg) from None
    return ini_text(spec, value)


def _command_line(config: pytest.Config) -> list[str]:
    """The arguments pytest searched for its rootdir in: PYTEST_ADDOPTS's, then the
    command line's."""
    return [*shlex.split(os.environ.get("PYTEST_ADDOPTS", "")), *config.invocation_params.args]


def _is_path_from(directory: Path) -> Callable[[str], bool]:
    return lambda value: (directory / value).exists()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """Hand the run (id, directory, owner) to each xdist worker."""
    config: pytest.Config = node.config  # type: ignore[attr-defined]
    node.workerinput[WORKER_RUN_KEY] = config.stash[STATE].run.to_dict()  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """Merge what a worker did last; say so if it died."""
    config: pytest.Config = node.config  # type: ignore[attr-defined]
    report = getattr(node, "workeroutput", {}).get(WORKER_REPORT_KEY)
    if report is not None:
        config.stash[STATE].merge(WorkerReport.from_dict(report))
    if error is not None:
        worker = getattr(node, "gateway", None)
        config.stash[STATE].worker_lost(getattr(worker, "id", "?"), error)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add snapq's hints to a failure whose fix is a setting; in an xdist worker, send
    what the test recorded with its teardown report."""
    if call.excinfo is not None:
        add_hints(call.excinfo.value, getattr(item, "fixturenames", ()))
    report = yield
    if report.when == "teardown" and hasattr(item.config, "workerinput"):
        setattr(report, TEST_REPORT_ATTRIBUTE, item.config.stash[STATE].report().to_dict())
    return report


class _WorkerTestReports:
    """On the controller (registered there only): merge what each worker's test
    recorded, as its report arrives."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = report.__dict__.pop(TEST_REPORT_ATTRIBUTE, None)  # kept by no one after
        if data is not None:
            self.state.merge(WorkerReport.from_dict(data))


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """As the tests begin, start the embedded server in the background when one of
    them will use snapq's database (never for --collect-only or --setup-plan)."""
    option = session.config.option
    if option.collectonly or getattr(option, "setupplan", False):
        return
    if session.testsfailed and not option.continue_on_collection_errors:
        return  # pytest stops at the collection errors: no test will run
    if any(_uses_snapq_database(item) for item in session.items):
        session.config.stash[STATE].provisioner.prepare()


def _uses_snapq_database(item: pytest.Item) -> bool:
    """Tell whether ``item`` requests snapq's own ``snapq_url`` (not an override of it)
    and is not marked to be skipped. A test that reaches the database only through
    ``assert_query`` is not seen: its server starts when it asks, as before."""
    if item.get_closest_marker("skip") is not None:
        return False
    definitions = getattr(item, "_fixtureinfo", None)
    chain = definitions.name2fixturedefs.get("snapq_url", ()) if definitions else ()
    function = getattr(chain[-1], "func", None) if chain else None
    return getattr(function, "__module__", None) == snapq_url.__module__ and (
        getattr(function, "__name__", None) == "snapq_url"
    )


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> None:
    """Take the digest of a test module's text as it is imported: inline snapshots
    are written only into that very text."""
    parent.config.stash[STATE].recorder.read_source(str(module_path))


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[STATE].settings
    record = settings.record
    header = (
        f"snapq: record={record.value.value} ({record.source}), server={describe_server(settings)}"
    )
    driver = settings.async_driver
    if not driver.defaulted:
        header += f", async driver={driver.value.value} ({driver.source})"
    return header


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    state = config.stash[STATE]
    state.release()
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKER_REPORT_KEY] = state.report().to_dict()
        return
    outcome = state.recorder.apply()
    state.outcome = outcome
    unasked = outcome.anything_written and state.settings.record.defaulted
    failed = outcome.conflicts or outcome.problems or state.problems
    if (unasked or failed) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    state = terminalreporter.config.stash.get(STATE, None)
    outcome = state.outcome if state is not None else None
    if state is None or outcome is None:
        return
    problems = state.problems + outcome.problems + outcome.conflicts
    if not (outcome.anything_written or problems or state.notes):
        return
    record = state.settings.record
    terminalreporter.section("snapq")
    write = terminalreporter.write_line
    if outcome.written:
        total = outcome.total_written
        write(f"snapq wrote {total} inline snapshot(s) (sql= and results= counted separately):")
        for path, count in outcome.written.items():
            write(f"  {path}: {count}")
    if outcome.files:
        write(f"snapq wrote {len(outcome.files)} snapshot file(s):")
        for path in outcome.files:
            write(f"  {path}")
    if outcome.anything_written and record.defaulted:
        write(
            "This run recorded snapshots without being asked to (record mode missing is "
            "the default), so it fails: review the new snapshots and run again.",
            red=True,
        )
        # Also in pytest's last line, which would otherwise say only "N passed".
        recorded = ["inline"] * outcome.total_written + list(outcome.files)
        terminalreporter.stats.setdefault("recorded (the run fails)", []).extend(recorded)
    for problem in problems:
        write(f"snapq: {problem}", red=True)
    if problems:
        terminalreporter.stats.setdefault("snapq problems", []).extend(problems)
    for note in dict.fromkeys(state.notes):  # each worker says the run's notes again
        write(f"snapq note: {note}", yellow=True)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None:
        state.close()


def _snapshot_extension(config: pytest.Config, settings: Settings) -> type:
    from snapq._snapshots.files import SnapqSnapshotExtension

    root = config.rootpath / settings.snapshot_dir.value
    return SnapqSnapshotExtension.bind(root=root, rootdir=config.rootpath)
