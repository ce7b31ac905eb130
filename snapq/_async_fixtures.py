"""snapq's async fixtures: the worker's database through an ``AsyncEngine``, and a
rolled-back ``AsyncConnection`` per test, isolated exactly as the sync ones are.

``snapq_async_engine`` → ``snapq_async_connection`` → ``snapq_async_session``, beside
the sync chain. The two async test fixtures are coroutines, run by whichever plugin
runs the test: ``pytest_fixture_setup`` below hands them to pytest-asyncio (in the
test's own event loop, whatever its mode and loop scope) or leaves them to anyio,
so that users write nothing beyond what their plugin already asks for.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from snapq._database.async_engine import (
    create_async_engine,
    isolated_async_connection,
)
from snapq._errors import ConfigError, IsolationError
from snapq._fixtures import (
    STATE,
    is_coroutine_test,
    is_transaction_test,
    stop_if_the_server_is_gone,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

    from snapq._database.isolation import Baseline


@pytest.fixture(scope="session")
def snapq_async_engine(snapq_url: str, request: pytest.FixtureRequest) -> Iterator[AsyncEngine]:
    """Return a SQLAlchemy ``AsyncEngine`` on this worker's database (session scope).

    Its driver is psycopg's async one, or asyncpg with ``--snapq-async-driver=asyncpg``;
    its connections carry snapq's timeouts and settings, and it refuses to commit a
    test's connection, as ``snapq_engine`` does. Override it to configure the engine
    differently (keep ``snapq_url``'s database).
    """
    state = request.config.stash[STATE]
    try:
        engine, pools = create_async_engine(
            snapq_url, state.settings, state.provisioner.connect_args
        )
    except ConfigError as error:
        failure = f"snapq: {error}"
    else:
        state.engines.append(engine)
        yield engine
        state.engines.remove(engine)
        pools.close()
        return
    pytest.fail(failure, pytrace=False)  # outside the except block, shown once


@pytest.fixture
async def snapq_async_connection(
    snapq_async_engine: AsyncEngine, _snapq_baseline: Baseline, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncConnection]:
    """Return an ``AsyncConnection`` inside a transaction rolled back after the test.

    The isolation of ``snapq_connection``: sequences start from their template values,
    deferred constraints are checked before the rollback, and a commit of this
    connection raises ``IsolationError``. It is another connection than
    ``snapq_connection``: a test that uses both sees, on each, only what was written
    on it (or committed, which neither is).
    """
    if is_transaction_test(request):  # the test's own database: nothing to roll back
        async with snapq_async_engine.connect() as connection:
            yield connection
        return
    try:
        async with isolated_async_connection(snapq_async_engine, _snapq_baseline) as connection:
            yield connection
            lost = connection.sync_connection is None or connection.sync_connection.invalidated
    except IsolationError:  # a commit may have escaped: restore the database after
        request.config.stash[STATE].database_dirty = True
        raise
    except Exception:
        stop_if_the_server_is_gone(request)
        raise
    if lost:
        stop_if_the_server_is_gone(request)


@pytest.fixture
async def snapq_async_session(
    snapq_async_connection: AsyncConnection,
) -> AsyncIterator[AsyncSession]:
    """Return an ``AsyncSession`` bound to ``snapq_async_connection``, rolled back after
    the test.

    ``join_transaction_mode="create_savepoint"``: application code may ``await
    session.commit()`` (which releases a savepoint) or ``await session.rollback()``
    (after an IntegrityError, say) and the test goes on. ``expire_on_commit=False``,
    as SQLAlchemy's asyncio docs advise and async applications configure: an async
    session cannot reload an expired attribute when it is read.
    """
    from sqlalchemy.ext.asyncio import AsyncSession

    session = AsyncSession(
        bind=snapq_async_connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    yield session
    await session.close()


# snapq's coroutine fixtures, as pytest calls them (unwrapped), by name.
_COROUTINE_FIXTURES = {
    function.__name__: function
    for function in map(inspect.unwrap, (snapq_async_connection, snapq_async_session))
}
# On what this module puts in a fixture's place: the fixture it stands for.
_STANDS_FOR = "_snapq_fixture"


def _ours(function: Any) -> Any:
    """Return which of snapq's coroutine fixtures ``function`` is, or stands for, or None."""
    ours = _COROUTINE_FIXTURES.get(getattr(function, "__name__", ""))
    if ours is not None and function is ours:
        return ours
    return getattr(function, _STANDS_FOR, None)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Generator[None]:
    """Have snapq's coroutine fixtures run by the plugin that runs the test, in its loop.

    The fixture's function is set for each test, and stays set while it runs:
    pytest-asyncio looks at it again before calling the test.
    """
    ours = _ours(fixturedef.func)
    if ours is None:
        return (yield)  # another fixture, or the user's own of that name
    if "anyio_backend" in request.fixturenames:
        backend = request.getfixturevalue("anyio_backend")
        if (backend if isinstance(backend, str) else backend[0]) == "asyncio":
            fixturedef.func = ours  # anyio's own hook runs coroutine fixtures of anyio tests
            return (yield)
        message = (
            f"snapq: {fixturedef.argname} runs on anyio's asyncio backend only, and this "
            f"test runs on {backend!r}: SQLAlchemy's asyncio drivers do not run on trio. "
            'Give this test anyio_backend "asyncio".'
        )
        fixturedef.func = _failing(message, ours)
        return (yield)
    plugins = request.config.pluginmanager
    if plugins.has_plugin("asyncio") and request.node.get_closest_marker("asyncio"):
        fixturedef.func = _for_pytest_asyncio(ours, _loop_scope(request))
        return (yield)
    fixturedef.func = _failing(_no_runner(fixturedef.argname, request), ours)
    return (yield)


def _failing(message: str, fixture: Any) -> Any:
    """Return what stands for ``fixture`` and fails with ``message``: failing in the
    fixture, not in the hook, lets pytest keep the error as the fixture's result, as it
    does for any fixture that fails."""

    def fail(**_: Any) -> None:
        pytest.fail(message, pytrace=False)

    setattr(fail, _STANDS_FOR, fixture)
    return fail


@functools.cache
def _for_pytest_asyncio(fixture: Any, loop_scope: str) -> Any:
    """Return a copy of ``fixture`` marked as pytest-asyncio's, so that it runs in strict
    mode too, in the event loop of ``loop_scope``: the test's. (Marking snapq's own
    functions once and for all would fix one loop scope, and take anyio's tests.)"""
    import pytest_asyncio

    copy = types.FunctionType(
        fixture.__code__, fixture.__globals__, fixture.__name__, None, fixture.__closure__
    )
    copy.__dict__.update(fixture.__dict__)
    setattr(copy, _STANDS_FOR, fixture)
    mark: Any = pytest_asyncio.fixture
    mark(copy, loop_scope=loop_scope)  # marks the function it is given
    return copy


def _loop_scope(request: pytest.FixtureRequest) -> str:
    """Return the scope of the event loop that pytest-asyncio runs the test in."""
    marker = request.node.get_closest_marker("asyncio")
    scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope") if marker else None
    if scope:
        return str(scope)
    try:
        return str(request.config.getini("asyncio_default_test_loop_scope") or "function")
    except ValueError:  # a pytest-asyncio without the key: a loop per test
        return "function"


def _no_runner(name: str, request: pytest.FixtureRequest) -> str:
    if not is_coroutine_test(request):
        what = "a sync test: make it `async def`, run by pytest-asyncio or anyio"
    elif not request.config.pluginmanager.has_plugin("asyncio"):
        what = (
            "an async test that no plugin runs: install pytest-asyncio (and mark the test "
            "@pytest.mark.asyncio, or set asyncio_mode = auto), or use anyio's plugin "
            "(@pytest.mark.anyio)"
        )
    else:
        what = (
            "an async test without @pytest.mark.asyncio (pytest-asyncio's strict mode): "
            "mark it, or set asyncio_mode = auto"
        )
    return (
        f"snapq: this test asks for {name} (itself or through another fixture), an async "
        f"fixture, but it is {what}."
    )
