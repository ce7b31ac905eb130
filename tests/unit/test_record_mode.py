from __future__ import annotations

from collections.abc import Mapping

import pytest

from snapq._config import RecordMode, Setting, ci_detected, resolve_settings
from snapq._errors import ConfigError

FLAG = "--snapq-record"
ENV = "SNAPQ_RECORD"
INI = "ini snapq_record"


def record(
    given: Mapping[str, str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    snapshot_update: bool = False,
) -> Setting[RecordMode]:
    """Resolve the record mode, ``given`` by "flag", "env" (SNAPQ_RECORD) or "ini"."""
    given = given or {}
    environ = dict(environ or {})
    if "env" in given:
        environ[ENV] = given["env"]
    return resolve_settings(
        options={"snapq_record": given.get("flag")},
        environ=environ,
        ini={"snapq_record": given.get("ini")},
        snapshot_update=snapshot_update,
    ).record


def test_the_default_is_missing() -> None:
    assert record() == Setting(RecordMode.MISSING, "default")


@pytest.mark.parametrize("ci", ["true", "1", "yes", "TRUE", " True ", "on", "azure-pipelines"])
def test_ci_makes_the_default_never(ci: str) -> None:
    setting = record(environ={"CI": ci})
    assert setting.value is RecordMode.NEVER
    assert "CI" in setting.source
    assert ci_detected({"CI": ci})


@pytest.mark.parametrize("ci", ["false", "0", "", "no", "off", "FALSE", "  "])
def test_ci_set_to_a_false_value_is_not_ci(ci: str) -> None:
    assert record(environ={"CI": ci}) == Setting(RecordMode.MISSING, "default")
    assert not ci_detected({"CI": ci})


@pytest.mark.parametrize(
    ("given", "source"),
    [({"flag": "all"}, FLAG), ({"env": "all"}, ENV)],
)
def test_a_mode_given_for_this_run_beats_ci(given: dict[str, str], source: str) -> None:
    assert record(given, environ={"CI": "true"}) == Setting(RecordMode.ALL, source)


def test_a_committed_ini_key_does_not_make_ci_record() -> None:
    assert record({"ini": "missing"}, environ={"CI": "true"}) == Setting(
        RecordMode.NEVER, "default: CI detected"
    )


@pytest.mark.parametrize("mode", list(RecordMode))
@pytest.mark.parametrize(("where", "source"), [("flag", FLAG), ("env", ENV), ("ini", INI)])
def test_each_mode_can_be_given_by_flag_env_or_ini(
    mode: RecordMode, where: str, source: str
) -> None:
    assert record({where: mode.value}) == Setting(mode, source)


@pytest.mark.parametrize(
    ("given", "winner"),
    [
        ({"flag": "all", "env": "never", "ini": "failed"}, Setting(RecordMode.ALL, FLAG)),
        ({"env": "never", "ini": "failed"}, Setting(RecordMode.NEVER, ENV)),
        ({"flag": "missing", "ini": "all"}, Setting(RecordMode.MISSING, FLAG)),
        ({"flag": "", "env": "  ", "ini": "all"}, Setting(RecordMode.ALL, INI)),
    ],
)
def test_flag_then_environment_then_ini(given: dict[str, str], winner: Setting[RecordMode]) -> None:
    assert record(given) == winner


@pytest.mark.parametrize("spelling", ["NEVER", "Never", " never ", "never\n"])
def test_modes_are_case_and_whitespace_insensitive(spelling: str) -> None:
    assert record({"flag": spelling}).value is RecordMode.NEVER


def test_snapshot_update_means_failed() -> None:
    assert record(snapshot_update=True) == Setting(RecordMode.FAILED, "--snapshot-update")


def test_snapshot_update_beats_ci() -> None:
    setting = record(snapshot_update=True, environ={"CI": "true"})
    assert setting == Setting(RecordMode.FAILED, "--snapshot-update")


@pytest.mark.parametrize(("where", "mode"), [("env", "never"), ("env", "all"), ("ini", "never")])
def test_snapshot_update_beats_the_environment_and_ini(where: str, mode: str) -> None:
    setting = record({where: mode}, snapshot_update=True)
    assert setting == Setting(RecordMode.FAILED, "--snapshot-update")


def test_snapshot_update_agrees_with_a_failed_flag() -> None:
    assert record({"flag": "failed"}, snapshot_update=True) == Setting(RecordMode.FAILED, FLAG)


@pytest.mark.parametrize("mode", ["never", "missing", "all"])
def test_snapshot_update_and_a_contradicting_flag_name_both(mode: str) -> None:
    with pytest.raises(ConfigError) as raised:
        record({"flag": mode}, snapshot_update=True)
    message = str(raised.value)
    assert f"--snapq-record={mode}" in message
    assert "--snapshot-update" in message


@pytest.mark.parametrize(("where", "source"), [("flag", FLAG), ("env", ENV), ("ini", INI)])
@pytest.mark.parametrize("value", ["sometimes", "yes", "update", "none"])
def test_an_invalid_mode_names_its_source_and_the_accepted_values(
    where: str, source: str, value: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        record({where: value})
    assert str(raised.value) == (
        f"{source}={value!r} is not a record mode: use one of never, missing, failed, all"
    )


def test_an_invalid_flag_is_reported_even_with_snapshot_update() -> None:
    with pytest.raises(ConfigError, match="is not a record mode"):
        record({"flag": "sometimes"}, snapshot_update=True)


@pytest.mark.parametrize(
    ("mode", "missing", "different"),
    [
        (RecordMode.NEVER, False, False),
        (RecordMode.MISSING, True, False),
        (RecordMode.FAILED, True, True),
        (RecordMode.ALL, True, True),
    ],
)
def test_what_each_mode_records(mode: RecordMode, missing: bool, different: bool) -> None:
    assert mode.records_missing is missing
    assert mode.records_different is different


def test_the_modes_are_the_words_users_type() -> None:
    assert [mode.value for mode in RecordMode] == ["never", "missing", "failed", "all"]
