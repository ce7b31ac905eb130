"""snapq's fixtures: the worker's database, and a rolled-back connection per test.

A chain a user can override by name: ``snapq_url`` (the worker's database) →
``snapq_engine`` → ``snapq_connection`` (one test's transaction) →
``snapq_session``. Registered by ``snapq.plugin``.
"""

from __future__ import annotations

import datetime
import inspect
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from snapq._config import PINNED_SESSION_SETTINGS, RecordMode, Setting
from snapq._context import Pending, enter_test, leave_test
from snapq._database.commits import CommitWatch
from snapq._database.isolation import Baseline, isolated_connection, prepare_engine
from snapq._database.kept import SchemaSource
from snapq._database.lending import lent_connections
from snapq._errors import ConfigError, IsolationError, SetupHookError, SnapqError
from snapq._snapshots.masks import Mask
from snapq._state import RunState

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
    from sqlalchemy.orm import Session

STATE = pytest.StashKey[RunState]()


class _PytestTestContext:
    """The running test, for assert_query (see snapq._context)."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        state = request.config.stash[STATE]
        self._state = state
        self.nodeid = request.node.nodeid
        self.record: Setting[RecordMode] = state.settings.record
        self.inline_max_lines = state.settings.inline_max_lines.value
        self.recorder = state.recorder
        self._file_assertions: dict[int, Any] = {}
        self.pending: list[Pending] = []  # assert_query_async calls, awaited or not
        self.started = datetime.datetime.now(datetime.UTC)

    def run_masks(self) -> tuple[Mask, ...]:
        __tracebackhide__ = True
        return self._state.run_masks()

    def default_connection(self) -> Connection | Session:
        __tracebackhide__ = True
        uses = self._request.fixturenames
        if "snapq_connection" not in uses:
            if "snapq_async_connection" in uses:
                msg = (
                    "this test's data is on snapq_async_connection, which snapq's sync "
                    "connection does not see: use `await assert_query_async(...)`, or pass "
                    "connection="
                )
                raise TypeError(msg)
            if self._is_coroutine():
                msg = (
                    "this is an async test, and snapq's sync connection sees none of what its "
                    "async code wrote: use snapq_async_session and `await "
                    "assert_query_async(...)`, pass connection=, or request snapq_session to "
                    "use the sync connection"
                )
                raise TypeError(msg)
        if "snapq_session" in uses:
            session: Session = self._request.getfixturevalue("snapq_session")
            return session
        connection: Connection = self._request.getfixturevalue("snapq_connection")
        return connection

    def default_async_connection(self) -> AsyncConnection | AsyncSession:
        __tracebackhide__ = True
        uses = self._request.fixturenames
        for name in ("snapq_async_session", "snapq_async_connection"):
            if name in uses:  # set up before the test ran: its value is at hand
                target: AsyncConnection | AsyncSession = self._request.getfixturevalue(name)
                return target
        msg = (
            "assert_query_async runs on the test's snapq_async_session or "
            "snapq_async_connection, and this test uses neither: request one, or pass "
            "connection="
        )
        raise TypeError(msg)

    def watched_connections(self) -> tuple[Any, ...]:
        uses = self._request.fixturenames
        watched: list[Any] = []
        if "snapq_async_connection" in uses:
            watched.append(self.default_async_connection())
        if "snapq_connection" in uses or not watched:
            watched.append(self.default_connection())
        return tuple(watched)

    def track(self, pending: Pending) -> None:
        self.pending.append(pending)

    def file_assertion(self, snapshot: Any) -> Any:
        key = id(snapshot)
        if key not in self._file_assertions:
            extension = self._state.snapshot_extension
            self._file_assertions[key] = snapshot.use_extension(extension)
        return self._file_assertions[key]

    def note(self, message: str) -> None:
        self._state.notes.append(f"{message} ({self.nodeid})")

    def builds_schema(self) -> bool:
        return bool(self._request.config.hook.pytest_snapq_setup_database.get_hookimpls())

    def _is_coroutine(self) -> bool:
        return is_coroutine_test(self._request)


def is_coroutine_test(request: pytest.FixtureRequest) -> bool:
    """Tell whether the test is an ``async def``, though the plugin running it has put
    a sync wrapper in its place (as pytest-asyncio does while it runs)."""
    function = getattr(request.node, "function", None)
    return function is not None and inspect.iscoroutinefunction(inspect.unwrap(function))


@pytest.fixture(autouse=True)
def _snapq_current_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let assert_query find the running test without it being passed; fail a test
    that leaves connections of ``snapq_engine`` or ``snapq_async_engine`` checked out.

    Autouse, so set up first and torn down last: after ``snapq_connection`` and any
    fixture of the test have given their connections back, and after the test's event
    loop has ended.
    """
    engines = {
        name: lent_connections(_sync_engine(request.getfixturevalue(name)))
        for name in ENGINES
        if name in request.fixturenames
    }
    before = {name: lent.now() for name, lent in engines.items()}
    state = request.config.stash[STATE]
    owns_database = is_transaction_test(request)
    watch = state.commit_watch
    if watch is not None:
        watch.start()
    context = _PytestTestContext(request)
    enter_test(context)
    try:
        yield
    finally:
        leave_test(context)
        commits = watch.stop() if watch is not None else 0
    leaks = [
        _leak_message(name, request, leaked)
        for name, lent in engines.items()
        if (leaked := lent.close_all_but(before[name]))
    ]
    if owns_database or commits or state.database_dirty:
        _restore_database(request)
    if commits and not owns_database:
        leaks.append(_commit_message(commits))
    if leaks:
        pytest.fail("\n".join(leaks), pytrace=False)
    never_awaited = [pending.where for pending in context.pending if not pending.awaited]
    if never_awaited:
        pytest.fail(
            "snapq: assert_query_async returns an awaitable, and the test never awaited "
            f"it, so it asserted nothing: write `await assert_query_async(...)` at "
            f"{', '.join(never_awaited)}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def snapq_url(request: pytest.FixtureRequest) -> str:
    """Return the SQLAlchemy URL of this worker's database (session scope).

    The database is a copy of the run's template, which ``pytest_snapq_setup_database``
    built; each xdist worker has its own. It carries no password: when the server needs
    one, the URL names a password file (``passfile=``) in the run directory, so an
    engine built from it logs in. Override this fixture to test against a database
    you prepare yourself.
    """
    config = request.config
    provisioner = config.stash[STATE].provisioner
    workerinput = getattr(config, "workerinput", None)
    role = str(workerinput["workerid"]) if workerinput else "main"
    try:
        url = provisioner.database_url(role, _template_builder(config), _schema_source(config))
    except SnapqError as error:
        failure = str(error) if str(error).startswith("snapq") else f"snapq: {error}"
    else:
        state = config.stash[STATE]
        state.notes.extend(provisioner.notes)
        if state.commit_watch is None:
            from sqlalchemy.engine import make_url

            state.commit_watch = CommitWatch(str(make_url(url).database))
        return url
    # Every test would fail the same way: stop the run, and show just snapq's message
    # (outside the except block, which pytest would show as well).
    request.session.shouldstop = "snapq could not provide a database"
    pytest.fail(failure, pytrace=False)


@pytest.fixture(scope="session")
def snapq_engine(snapq_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Return a SQLAlchemy ``Engine`` (psycopg 3) on this worker's database (session scope).

    Its connections carry snapq's timeouts; it refuses to commit a test's connection.
    Override it to configure the engine differently (keep ``snapq_url`` as its URL).
    """
    from sqlalchemy import create_engine

    state = request.config.stash[STATE]
    engine = create_engine(snapq_url, connect_args=state.provisioner.connect_args)
    prepare_engine(
        engine, answer_timeout=state.settings.answer_timeout(), pinned=PINNED_SESSION_SETTINGS
    )
    state.engines.append(engine)
    yield engine
    state.engines.remove(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def _snapq_baseline(snapq_engine: Engine) -> Baseline:
    return Baseline.capture(snapq_engine)


@pytest.fixture
def snapq_connection(
    snapq_engine: Engine, _snapq_baseline: Baseline, request: pytest.FixtureRequest
) -> Iterator[Connection]:
    """Return a ``Connection`` inside a transaction that is rolled back after the test.

    Nothing a test writes survives it. Sequences start from their template values in
    every test. Deferred constraints are checked before the rollback, so a test that
    breaks one fails as the commit would in production. Committing this connection
    raises ``IsolationError``: use ``begin_nested()`` or ``snapq_session``.
    """
    if is_transaction_test(request):  # the test's own database: nothing to roll back
        with snapq_engine.connect() as connection:
            yield connection
        return
    try:
        with isolated_connection(snapq_engine, _snapq_baseline) as connection:
            yield connection
            lost = connection.invalidated  # perhaps with the server
    except IsolationError:  # a commit may have escaped: restore the database after
        request.config.stash[STATE].database_dirty = True
        raise
    except Exception:
        stop_if_the_server_is_gone(request)
        raise
    if lost:
        stop_if_the_server_is_gone(request)


ENGINES = {
    "snapq_engine": "snapq_engine.connect(), or a Session bound to it, never closed: close "
    "them, for example in a with block",
    "snapq_async_engine": "`await snapq_async_engine.connect()`, or an AsyncSession bound to "
    "it, never closed: close them, for example in an `async with` block",
}


def _sync_engine(engine: Any) -> Engine:
    """Return ``engine``, or the sync engine below an ``AsyncEngine``."""
    return cast("Engine", getattr(engine, "sync_engine", engine))


def _leak_message(name: str, request: pytest.FixtureRequest, leaked: int) -> str:
    if name == "snapq_engine":  # later tests get a pool of their own
        request.getfixturevalue(name).dispose(close=False)
    return (
        f"snapq: the test left {leaked} connection(s) of {name} checked out (from "
        f"{ENGINES[name]}). snapq has closed them, so later tests do not wait for their "
        "locks."
    )


def is_transaction_test(request: pytest.FixtureRequest) -> bool:
    """Tell whether the test asks for a database of its own, where commits are real
    (``@pytest.mark.snapq(transaction=True)``)."""
    marker = request.node.get_closest_marker("snapq")
    if marker is None:
        return False
    unknown = sorted(set(marker.kwargs) - {"transaction"})
    if marker.args or unknown:
        given = ", ".join([*map(repr, marker.args), *unknown])
        pytest.fail(
            f"snapq: @pytest.mark.snapq takes transaction=True or transaction=False, not {given}",
            pytrace=False,
        )
    return bool(marker.kwargs.get("transaction", False))


def _restore_database(request: pytest.FixtureRequest) -> None:
    """Make the worker's database the template's copy again, for the next test."""
    state = request.config.stash[STATE]
    for engine in state.engines:
        if engine is _sync_engine(engine):
            engine.dispose()  # closes the connections it keeps: the database goes
        else:  # an AsyncEngine: its connections closed with the test's event loop
            _sync_engine(engine).dispose(close=False)
    state.provisioner.restore_database()
    state.database_dirty = False


def _commit_message(commits: int) -> str:
    return (
        f"snapq: {commits} commit(s) reached this worker's database through another "
        "connection than the test's (a Session bound to snapq_engine, an engine made from "
        "snapq_url, a thread): they were real, not rolled back. snapq has restored the "
        "database for the next tests. Commit on the test's connection (snapq_session "
        "commits in a savepoint), or mark the test @pytest.mark.snapq(transaction=True) to "
        "give it a database of its own, where commits are real."
    )


def stop_if_the_server_is_gone(request: pytest.FixtureRequest) -> None:
    """Fail this test, and stop the run, if the embedded server has exited or is
    stopped: every later test would fail the same way."""
    state = request.config.stash[STATE]
    if state.settings.url.value is not None:
        return
    unwell = state.run.unwell_server()
    if unwell is not None:
        request.session.shouldstop = "snapq: the embedded PostgreSQL server is gone"
        pytest.fail(unwell, pytrace=False)


@pytest.fixture
def snapq_session(
    request: pytest.FixtureRequest, snapq_connection: Connection
) -> Iterator[Session]:
    """Return an ORM ``Session`` bound to ``snapq_connection``, rolled back after the test.

    ``join_transaction_mode="create_savepoint"``: the session works in a savepoint,
    so application code may call ``commit()`` (which releases the savepoint) or
    ``rollback()`` (after an IntegrityError, say) and the test goes on. Its class is
    the ``snapq_session_class`` setting: ``sqlmodel:Session`` gives SQLModel's, with
    ``exec``.
    """
    setting = request.config.stash[STATE].settings.session_class
    session_class = session_class_named(setting.value, setting.source)
    session = session_class(bind=snapq_connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()


def session_class_named(name: str, source: str) -> type[Session]:
    """Return the ``Session`` subclass that ``name`` (``module:Class``) names."""
    import importlib

    from sqlalchemy.orm import Session

    module_name, _, class_name = name.replace(":", ".").rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        msg = f"{source}={name!r}: {error}; name a class importable from the tests"
        raise ConfigError(msg) from None
    if not (isinstance(found, type) and issubclass(found, Session)):
        msg = f"{source}={name!r} is not a subclass of sqlalchemy.orm.Session"
        raise ConfigError(msg)
    return found


def _schema_source(config: pytest.Config) -> SchemaSource | None:
    """Return what the run declares its schema is built from, if it keeps its template."""
    settings = config.stash[STATE].settings
    if not settings.schema_files.value:
        return None
    impls = config.hook.pytest_snapq_setup_database.get_hookimpls()
    hook_files = {Path(inspect.getsourcefile(impl.function) or impl.plugin_name) for impl in impls}
    return SchemaSource(
        root=config.rootpath,
        patterns=settings.schema_files.value,
        hook_files=tuple(sorted(hook_files)),
        rebuild=settings.rebuild.value,
    )


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
                message = _hook_failure(impl.function, error)
                if config.stash[STATE].settings.url.value is None:  # snapq's own server
                    message += _missing_extension_advice(error)
                raise SetupHookError(message) from error

    return build


def _missing_extension_advice(error: BaseException) -> str:
    """Say where to find an extension that a CREATE EXTENSION in the hook lacked."""
    from snapq._database.binaries import extension_advice
    from snapq._database.extensions import extension_not_available

    seen: BaseException | None = error
    while seen is not None:
        name = extension_not_available(str(seen))
        if name is not None:
            return (
                f"\nsnapq: the embedded server has no extension {name!r}. {extension_advice(name)}"
            )
        seen = seen.__cause__ or seen.__context__
    return ""


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
