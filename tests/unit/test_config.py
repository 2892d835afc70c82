from __future__ import annotations

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
    assert caught.value.variable.startswith(variable) and words in str(caught.value)


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


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("teams = 3", "teams must be a non-empty list"),
        ("[keywords]\nsevere = ['x']", "priorities are urgent"),
        ("[first_response_targets]\nhigh = 'soon'", "not a duration"),
        ("colour = 'blue'", "unknown setting 'colour'"),
        ("teams = [", "not valid TOML"),
    ],
)
def test_bad_toml_says_what_is_wrong(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "desk.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, SUPPORTBOT_CONFIG=str(path))
    assert "SUPPORTBOT_CONFIG" in str(caught.value) and words in str(caught.value)
