"""snapq's pytest plugin: options, hooks, fixtures and the run's lifecycle.

Loaded through the ``pytest11`` entry point; ``import snapq`` does not load it.
Nothing outside this module touches pytest's internals.
"""

from __future__ import annotations

import inspect
import os
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from snapq import _hookspecs
from snapq._config import SETTINGS, RecordMode, Setting, Settings, resolve_settings
from snapq._context import CURRENT
from snapq._database.isolation import Baseline, isolated_connection, prepare_engine
from snapq._database.provision import Provisioner
from snapq._database.run import Run
from snapq._errors import ConfigError, SetupHookError, SnapqError
from snapq._snapshots.recorder import Outcome, Recorder

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session

PROVISIONER = pytest.StashKey[Provisioner]()
SETTINGS_KEY = pytest.StashKey[Settings]()
RECORDER = pytest.StashKey[Recorder]()
NOTES = pytest.StashKey[list[str]]()
OUTCOME = pytest.StashKey[Outcome]()
OWNS_RUN = pytest.StashKey[bool]()
DATABASE_USED = pytest.StashKey[bool]()
WORKER_RUN_KEY = "snapq_run"
WORKER_USED_KEY = "snapq_database_used"
WORKER_OBSERVATIONS_KEY = "snapq_observations"
WORKER_NOTES_KEY = "snapq_notes"
WORKER_FILES_KEY = "snapq_snapshot_files"
FILE_EXTENSION = pytest.StashKey[type]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("snapq", "snapq: SQL and result snapshots on PostgreSQL")
    for spec in SETTINGS:
        default = f" Default: {spec.default}." if spec.default else ""
        text = f"{spec.help}{default} Also ini {spec.ini_key}, env {spec.env_var}."
        group.addoption(spec.flag, dest=spec.ini_key, default=None, help=text)
        parser.addini(spec.ini_key, text)


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = resolve_settings(
            options={spec.ini_key: config.getoption(spec.ini_key) for spec in SETTINGS},
            environ=os.environ,
            ini={spec.ini_key: config.getini(spec.ini_key) or None for spec in SETTINGS},
            snapshot_update=bool(config.getoption("update_snapshots", default=False)),
        )
    except ConfigError as error:
        raise pytest.UsageError(f"snapq: {error}") from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WORKER_RUN_KEY in workerinput:
        run = Run.from_dict(workerinput[WORKER_RUN_KEY])
        config.stash[OWNS_RUN] = False
    else:
        run = Run.create()
        config.stash[OWNS_RUN] = True
    config.stash[SETTINGS_KEY] = settings
    config.stash[PROVISIONER] = Provisioner(settings, run)
    config.stash[DATABASE_USED] = False
    config.stash[RECORDER] = Recorder()
    config.stash[NOTES] = []
    config.stash[FILE_EXTENSION] = _file_extension(config, settings)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """Hand the run (id, directory, owner) to each xdist worker."""
    config: pytest.Config = node.config  # type: ignore[attr-defined]
    node.workerinput[WORKER_RUN_KEY] = config.stash[PROVISIONER].run.to_dict()  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """Remember whether a worker created databases, so the owner drops them."""
    output = getattr(node, "workeroutput", {})
    config: pytest.Config = node.config  # type: ignore[attr-defined]
    if output.get(WORKER_USED_KEY):
        config.stash[DATABASE_USED] = True
    config.stash[RECORDER].merge(output.get(WORKER_OBSERVATIONS_KEY, []))
    config.stash[RECORDER].files.extend(output.get(WORKER_FILES_KEY, []))
    config.stash[NOTES].extend(output.get(WORKER_NOTES_KEY, []))


def pytest_report_header(config: pytest.Config) -> str:
    record = config.stash[SETTINGS_KEY].record
    return (
        f"snapq: record={record.value.value} ({record.source}), "
        f"server={config.stash[PROVISIONER].describe_server()}"
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    provisioner = config.stash[PROVISIONER]
    provisioner.release()
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKER_USED_KEY] = provisioner.used_database
        workeroutput[WORKER_OBSERVATIONS_KEY] = config.stash[RECORDER].export()
        workeroutput[WORKER_FILES_KEY] = config.stash[RECORDER].files
        workeroutput[WORKER_NOTES_KEY] = config.stash[NOTES]
        return
    if provisioner.used_database:
        config.stash[DATABASE_USED] = True
    outcome = config.stash[RECORDER].apply()
    config.stash[OUTCOME] = outcome
    record = config.stash[SETTINGS_KEY].record
    unasked = outcome.anything_written and record.defaulted
    if (unasked or outcome.conflicts or outcome.problems) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    outcome = config.stash.get(OUTCOME, None)
    notes = config.stash.get(NOTES, [])
    if outcome is None or not (
        outcome.anything_written or outcome.problems or outcome.conflicts or notes
    ):
        return
    record = config.stash[SETTINGS_KEY].record
    terminalreporter.section("snapq")
    write = terminalreporter.write_line
    verb = "wrote" if record.value is RecordMode.MISSING else "updated"
    if outcome.written:
        write(f"snapq {verb} {outcome.total_written} inline snapshot(s) (sql= and results= apart):")
        for path, count in outcome.written.items():
            write(f"  {path}: {count}")
    if outcome.files:
        write(f"snapq {verb} {len(outcome.files)} snapshot file(s):")
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
    problems = outcome.problems + outcome.conflicts
    for problem in problems:
        write(f"snapq: {problem}", red=True)
    if problems:
        terminalreporter.stats.setdefault("snapq problems", []).extend(problems)
    for note in notes:
        write(f"snapq note: {note}", yellow=True)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if PROVISIONER not in config.stash or not config.stash[OWNS_RUN]:
        return
    config.stash[PROVISIONER].close_run(databases_used=config.stash[DATABASE_USED])


# Fixtures ---------------------------------------------------------------------------


class _PytestTestContext:
    """The running test, for assert_query (see snapq._context)."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self.nodeid = request.node.nodeid
        self.record: Setting[RecordMode] = request.config.stash[SETTINGS_KEY].record
        self.recorder = request.config.stash[RECORDER]
        self._file_extension = request.config.stash[FILE_EXTENSION]
        self._file_assertions: dict[int, Any] = {}

    def default_connection(self) -> Connection | Session:
        if "snapq_session" in self._request.fixturenames:
            session: Session = self._request.getfixturevalue("snapq_session")
            return session
        connection: Connection = self._request.getfixturevalue("snapq_connection")
        return connection

    def file_assertion(self, snapshot: Any) -> Any:
        key = id(snapshot)
        if key not in self._file_assertions:
            self._file_assertions[key] = snapshot.use_extension(self._file_extension)
        return self._file_assertions[key]

    def note(self, message: str) -> None:
        self._request.config.stash[NOTES].append(f"{message} ({self.nodeid})")

    def builds_schema(self) -> bool:
        return bool(self._request.config.hook.pytest_snapq_setup_database.get_hookimpls())


@pytest.fixture(autouse=True)
def _snapq_current_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let assert_query find the running test without it being passed."""
    token = CURRENT.set(_PytestTestContext(request))
    yield
    CURRENT.reset(token)


@pytest.fixture(scope="session")
def snapq_url(request: pytest.FixtureRequest) -> str:
    """Return the SQLAlchemy URL of this worker's database (session scope).

    The database is a copy of the run's template, which ``pytest_snapq_setup_database``
    built; each xdist worker has its own. Override this fixture to test against a
    database you prepare yourself.
    """
    config = request.config
    provisioner = config.stash[PROVISIONER]
    workerinput = getattr(config, "workerinput", None)
    role = str(workerinput["workerid"]) if workerinput else "main"
    try:
        return provisioner.database_url(role, _template_builder(config))
    except SnapqError as error:
        failure = str(error) if str(error).startswith("snapq") else f"snapq: {error}"
    # Every test would fail the same way: stop the run, and show just snapq's message.
    request.session.shouldstop = "snapq could not provide a database"
    pytest.fail(failure, pytrace=False)


@pytest.fixture(scope="session")
def snapq_engine(snapq_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Return a SQLAlchemy ``Engine`` (psycopg 3) on this worker's database (session scope).

    Its connections carry snapq's timeouts; it refuses to commit a test's connection.
    Override it to configure the engine differently (keep ``snapq_url`` as its URL).
    """
    from sqlalchemy import create_engine

    engine = create_engine(snapq_url, connect_args=request.config.stash[PROVISIONER].connect_args)
    prepare_engine(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _snapq_baseline(snapq_engine: Engine) -> Baseline:
    return Baseline.capture(snapq_engine)


@pytest.fixture
def snapq_connection(snapq_engine: Engine, _snapq_baseline: Baseline) -> Iterator[Connection]:
    """Return a ``Connection`` inside a transaction that is rolled back after the test.

    Nothing a test writes survives it. Sequences start from their template values in
    every test. Deferred constraints are checked before the rollback, so a test that
    breaks one fails as the commit would in production. Committing this connection
    raises ``IsolationError``: use ``begin_nested()`` or ``snapq_session``.
    """
    with isolated_connection(snapq_engine, _snapq_baseline) as connection:
        yield connection


@pytest.fixture
def snapq_session(snapq_connection: Connection) -> Iterator[Session]:
    """Return an ORM ``Session`` bound to ``snapq_connection``, rolled back after the test.

    ``join_transaction_mode="create_savepoint"``: the session works in a savepoint,
    so application code may call ``commit()`` (which releases the savepoint) or
    ``rollback()`` (after an IntegrityError, say) and the test goes on.
    """
    from sqlalchemy.orm import Session

    session = Session(bind=snapq_connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()


def _file_extension(config: pytest.Config, settings: Settings) -> type:
    from snapq._snapshots.files import SnapqSnapshotExtension

    root = config.rootpath / settings.snapshot_dir.value
    return SnapqSnapshotExtension.bind(root=root, rootdir=config.rootpath)


def _template_builder(config: pytest.Config) -> Callable[[Connection], None]:
    """Return a callable that runs every ``pytest_snapq_setup_database``, outermost first."""

    def build(connection: Connection) -> None:
        # get_hookimpls() lists implementations in registration order, the reverse
        # of pluggy's call order; conftests register outermost first.
        for impl in config.hook.pytest_snapq_setup_database.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                continue
            kwargs = {name: connection for name in impl.argnames if name == "connection"}
            try:
                impl.function(**kwargs)
            except Exception as error:
                raise SetupHookError(_hook_failure(impl.function, error)) from error

    return build


def _hook_failure(function: Callable[..., object], error: Exception) -> str:
    try:
        where = f"{inspect.getsourcefile(function)}:{inspect.getsourcelines(function)[1]}"
    except (OSError, TypeError):
        where = getattr(function, "__module__", "?")
    # Start the traceback at the hook: snapq's own frame above it is noise.
    hook_frames = error.__traceback__.tb_next if error.__traceback__ else None
    details = "".join(traceback.format_exception(type(error), error, hook_frames)).rstrip()
    return (
        f"pytest_snapq_setup_database in {where} raised {type(error).__name__}; "
        f"the run stops and no template database was made.\n{details}"
    )
