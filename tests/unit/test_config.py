from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.model import Priority


def _load(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_config(env, dotenv=tmp_path / ".env")


def test_defaults_need_no_configuration(tmp_path: Path) -> None:
    config = _load(tmp_path)
    assert config.database_url == "sqlite:///supportbot.db"
    assert (config.desk.locale, config.desk.timezone) == ("en", "UTC")
    assert config.desk.teams == ("tier2", "billing", "engineering")


def test_dotenv_is_read_and_real_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SUPPORTBOT_LOCALE=ja\nSUPPORTBOT_TIMEZONE=Asia/Tokyo\n")
    config = _load(tmp_path, SUPPORTBOT_TIMEZONE="UTC")
    assert (config.desk.locale, config.desk.timezone) == ("ja", "UTC")


@pytest.mark.parametrize(
    ("env", "variable", "words"),
    [
        ({"SUPPORTBOT_LOCALE": "fr"}, "SUPPORTBOT_LOCALE", "en, ja"),
        ({"SUPPORTBOT_TIMEZONE": "Mars/Olympus"}, "SUPPORTBOT_TIMEZONE", "Asia/Tokyo"),
        ({"SUPPORTBOT_LOG_LEVEL": "chatty"}, "SUPPORTBOT_LOG_LEVEL", "DEBUG"),
        ({"SUPPORTBOT_CONFIG": "/nonexistent/x.toml"}, "SUPPORTBOT_CONFIG", "does not exist"),
    ],
)
def test_invalid_settings_name_the_variable(
    tmp_path: Path, env: dict[str, str], variable: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, **env)
    assert caught.value.variable.startswith(variable)
    assert words in str(caught.value)


def test_toml_file_sets_teams_keywords_and_targets(tmp_path: Path) -> None:
    path = tmp_path / "desk.toml"
    path.write_text(
        'teams = ["Billing", "security"]\nnote_prefixes = ["!!"]\n'
        '[keywords]\nurgent = ["breach"]\n'
        '[first_response_targets]\nnormal = "2h"\n'
    )
    config = _load(tmp_path, SUPPORTBOT_CONFIG=str(path))
    assert config.desk.teams == ("billing", "security")
    assert config.desk.note_prefixes == ("!!",)
    assert config.desk.keywords[Priority.URGENT] == ("breach",)
    assert config.desk.first_response_targets[Priority.NORMAL] == timedelta(hours=2)
    assert config.desk.thanks_grace == timedelta(minutes=10)  # the default
    path.write_text('thanks_grace = "30m"')
    assert _load(tmp_path, SUPPORTBOT_CONFIG=str(path)).desk.thanks_grace == timedelta(minutes=30)
    path.write_text('thanks_grace = "0"')
    assert _load(tmp_path, SUPPORTBOT_CONFIG=str(path)).desk.thanks_grace == timedelta(0)
    assert not config.desk.customer_transcripts  # off unless the desk allows it
    path.write_text("customer_transcripts = true")
    assert _load(tmp_path, SUPPORTBOT_CONFIG=str(path)).desk.customer_transcripts


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("teams = 3", "teams must be a non-empty list"),
        ("[keywords]\nsevere = ['x']", "priorities are urgent"),
        ("[first_response_targets]\nhigh = 'soon'", "not a duration"),
        ("colour = 'blue'", "unknown setting 'colour'"),
        ("teams = [", "not valid TOML"),
        ("thanks_grace = 'a while'", "thanks_grace = 'a while' is not a duration"),
        ("customer_transcripts = 'yes'", "customer_transcripts must be true or false, not 'yes'"),
        ("[snippets.Refund]\nen = 'x'", "snippets.Refund: a name is one lower-case word"),
        ("[snippets.refund]\nfr = 'x'", "snippets.refund.fr: the languages are en, ja"),
        (
            "[snippets.refund]\nen = 'Hi {{ name }}'",
            "{{ name }} is not filled in; use {{ customer }}",
        ),
        ("anonymous_replies = 1", "anonymous_replies must be true or false"),
        ("[routing]\nmax_open = 0", "routing.max_open must be a whole number from 1 up"),
        ("[routing.members]\nsales = ['slack:U1']", "routing.members.sales: there is no such team"),
        ("[routing.members]\nbilling = ['U1']", "must list agents as platform:user id"),
    ],
)
def test_bad_toml_says_what_is_wrong(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "desk.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, SUPPORTBOT_CONFIG=str(path))
    assert "SUPPORTBOT_CONFIG" in str(caught.value)
    assert words in str(caught.value)


def test_business_hours_from_the_toml_file(tmp_path: Path) -> None:
    from datetime import date, time

    path = tmp_path / "desk.toml"
    path.write_text(
        '[business_hours]\ndays = ["mon", "tue", "wed", "thu", "fri"]\n'
        'start = "09:30"\nend = "18:00"\nholidays = ["2026-01-01"]\n'
    )
    config = _load(tmp_path, SUPPORTBOT_CONFIG=str(path), SUPPORTBOT_TIMEZONE="Asia/Tokyo")
    business = config.desk.business_hours
    assert business is not None
    assert business.tz.key == "Asia/Tokyo"
    assert (business.days, business.start, business.end) == (
        frozenset(range(5)),
        time(9, 30),
        time(18),
    )
    assert business.holidays == frozenset({date(2026, 1, 1)})
    assert _load(tmp_path).desk.business_hours is None  # wall time unless configured


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('days = ["mon", "funday"]', "'funday' is not a day"),
        ('start = "18:00"\nend = "09:00"', "end 09:00 must be after start 18:00"),
        ('start = "nine"', "'nine' is not a time like 09:00"),
        ('holidays = ["tomorrow"]', "'tomorrow' is not a date"),
        ("days = []", "days must be a non-empty list"),
        ('lunch = "12:00"', "business_hours.lunch is not a setting"),
    ],
)
def test_business_hours_that_make_no_sense_are_refused(
    tmp_path: Path, content: str, words: str
) -> None:
    path = tmp_path / "desk.toml"
    path.write_text("[business_hours]\n" + content + "\n")
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, SUPPORTBOT_CONFIG=str(path))
    assert words in str(caught.value)


def test_care_settings_from_the_environment_and_the_toml_file(tmp_path: Path) -> None:
    toml = tmp_path / "desk.toml"
    toml.write_text(
        "[followups]\nafter_close = '2d'\nauto_checkin = true\n"
        "[followups.by_priority]\nurgent = '1d'\nlow = '1w'\n"
        "[idle]\nnudge_after = '1d'\nclose_after = '3d'\n"
    )
    config = _load(
        tmp_path, SUPPORTBOT_CONFIG=str(toml), DIGEST_TIME="08:30", SUPPORTBOT_TICK_SECONDS="5"
    )
    policy = config.desk.follow_ups
    assert policy.delay_for(Priority.URGENT) == timedelta(days=1)
    assert policy.delay_for(Priority.NORMAL) == timedelta(days=2)
    assert policy.delay_for(Priority.LOW) == timedelta(weeks=1)
    assert policy.auto_checkin
    assert (config.desk.idle.nudge_after, config.desk.idle.close_after) == (
        timedelta(days=1),
        timedelta(days=3),
    )
    assert (config.desk.digest_time.hour, config.desk.digest_time.minute) == (8, 30)
    assert config.delivery_patience == timedelta(days=1)  # the default
    assert _load(tmp_path, SUPPORTBOT_DELIVERY_PATIENCE="3d").delivery_patience == timedelta(days=3)
    assert config.tick_seconds == 5
    off = tmp_path / "off.toml"
    off.write_text("[followups]\nenabled = false\n[idle]\nenabled = false\n")
    config = _load(tmp_path, SUPPORTBOT_CONFIG=str(off))
    assert config.desk.follow_ups.delay_for(Priority.NORMAL) is None
    assert not config.desk.idle.enabled


@pytest.mark.parametrize(
    ("env", "variable", "words"),
    [
        ({"DIGEST_TIME": "9am"}, "DIGEST_TIME", "'9am' is not a time; write it like 09:00"),
        ({"DIGEST_TIME": "25:00"}, "DIGEST_TIME", "is not a time"),
        ({"DIGEST_TIME": "09:00:30"}, "DIGEST_TIME", "is not a time"),
        ({"SUPPORTBOT_TICK_SECONDS": "0"}, "SUPPORTBOT_TICK_SECONDS", "from 1 to 3600"),
        ({"SUPPORTBOT_DELIVERY_PATIENCE": "forever"}, "SUPPORTBOT_DELIVERY_PATIENCE", "like 6h"),
        ({"SUPPORTBOT_DELIVERY_PATIENCE": "5m"}, "SUPPORTBOT_DELIVERY_PATIENCE", "at least 10"),
    ],
)
def test_bad_care_settings_in_the_environment_are_refused(
    tmp_path: Path, env: dict[str, str], variable: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, **env)
    assert caught.value.variable == variable
    assert words in caught.value.problem


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[followups]\nafter_close = 'soon'", "followups.after_close = 'soon' is not a duration"),
        ("[followups]\nenabled = 'yes'", "followups.enabled must be true or false"),
        ("[followups.by_priority]\nmeh = '1d'", "followups.by_priority.meh: priorities are"),
        ("[followups]\nevery = '1d'", "followups.every is not a setting"),
        ("[idle]\nnudge_after = '5d'\nclose_after = '2d'", "must be longer than idle.nudge_after"),
        ("[idle]\nclose_after = '-1d'", "idle.close_after = '-1d' is not a duration"),
    ],
)
def test_care_settings_that_make_no_sense_are_refused(
    tmp_path: Path, content: str, words: str
) -> None:
    toml = tmp_path / "desk.toml"
    toml.write_text(content)
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, SUPPORTBOT_CONFIG=str(toml))
    assert caught.value.variable.startswith("SUPPORTBOT_CONFIG")
    assert words in caught.value.problem


def test_the_readmes_example_configuration_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    example = re.search(r"```toml\n(# SUPPORTBOT_CONFIG=desk.toml\n.*?)```", readme, re.DOTALL)
    assert example is not None, "the README's configuration example is gone"
    path = tmp_path / "desk.toml"
    path.write_text(example.group(1), "utf-8")
    desk = _load(tmp_path, SUPPORTBOT_CONFIG=str(path)).desk
    assert desk.team_name == "Acme Support"
    assert set(desk.snippets["refund"]) == {"en", "ja"}
