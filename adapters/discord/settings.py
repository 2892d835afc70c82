"""Discord settings from the environment; every problem names its variable, all found in one
look."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.config_errors import ConfigError, Problems
from bot.routing_config import RoutingConfigError, team_groups_from
from bot.settings import DeskSettings

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
DEFAULT_SPOOL_FILE = "discord-spool.jsonl"
# a standby tries for the gateway this often, and its holder checks its lock as often: a
# standby takes over within about five of these after the holder's host vanishes (at once
# when the holder stops or is killed)
DEFAULT_STANDBY_RETRY_SECONDS = 5.0
_TEAMS = DeskSettings().teams  # a desk's teams when its configuration names none


@dataclass(frozen=True)
class DiscordSettings:
    bot_token: str
    guild_id: int
    staff_channel: int
    staff_role: int
    lead_role: int = 0
    support_channels: tuple[int, ...] = ()
    # DISCORD_SUPPORT_CHANNELS=auto: every text channel the bot may read and write in (see
    # intake.py) instead of a list
    support_auto: bool = False
    leads_channel: int = 0
    api_url: str = DEFAULT_API_URL
    gateway_url: str = DEFAULT_GATEWAY_URL
    # messages that arrive while the database is down wait here (Discord never redelivers)
    spool_file: str = DEFAULT_SPOOL_FILE
    standby_retry_seconds: float = DEFAULT_STANDBY_RETRY_SECONDS
    # DISCORD_TEAM_ROLES: team -> the role whose members are on it (besides those listed
    # under [routing.members])
    team_roles: dict[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:  # the token never reaches logs
        return f"DiscordSettings(guild_id={self.guild_id}, staff_channel={self.staff_channel})"


def configured(env: Mapping[str, str]) -> bool:
    return bool(env.get("DISCORD_BOT_TOKEN", "").strip())


def load(
    env: Mapping[str, str], teams: tuple[str, ...] = _TEAMS, problems: Problems | None = None
) -> DiscordSettings:
    """`teams`: the desk's teams, which DISCORD_TEAM_ROLES may name. Raises the problems found
    (ConfigErrors when there are several); given `problems`, adds them there instead and
    returns the settings with defaults in their place, as bot.config.load_config does."""
    found = Problems() if problems is None else problems

    def get(name: str) -> str:
        return env.get(name, "").strip()

    def snowflake(name: str, required: bool = True) -> int:
        return found.read(lambda: _snowflake(name, get(name), required), 0)

    support_ids = found.read(
        lambda: _support_channels(get("DISCORD_SUPPORT_CHANNELS")), list[str]()
    )
    support_auto = [c.lower() for c in support_ids] == ["auto"]
    standby_retry = found.read(
        lambda: _standby_retry(get("DISCORD_STANDBY_RETRY_SECONDS")),
        DEFAULT_STANDBY_RETRY_SECONDS,
    )
    team_roles = found.read(lambda: _team_roles(get("DISCORD_TEAM_ROLES"), teams), dict[str, int]())
    guild_id = snowflake("DISCORD_GUILD_ID")
    staff_channel = snowflake("DISCORD_STAFF_CHANNEL")
    staff_role = snowflake("DISCORD_STAFF_ROLE")
    lead_role = snowflake("DISCORD_LEAD_ROLE", required=False)
    leads_channel = snowflake("DISCORD_LEADS_CHANNEL", required=False)
    if problems is None:
        found.raise_any()
    return DiscordSettings(
        bot_token=get("DISCORD_BOT_TOKEN"),
        guild_id=guild_id,
        staff_channel=staff_channel,
        staff_role=staff_role,
        lead_role=lead_role,
        support_channels=() if support_auto else tuple(int(c) for c in support_ids),
        support_auto=support_auto,
        leads_channel=leads_channel,
        api_url=(get("DISCORD_API_URL") or DEFAULT_API_URL).rstrip("/"),
        gateway_url=get("DISCORD_GATEWAY_URL") or DEFAULT_GATEWAY_URL,
        spool_file=get("DISCORD_SPOOL_FILE") or DEFAULT_SPOOL_FILE,
        standby_retry_seconds=standby_retry,
        team_roles=team_roles,
    )


def _snowflake(name: str, value: str, required: bool) -> int:
    if not value and not required:
        return 0
    if not value.isdigit():
        raise ConfigError(
            name,
            f"must be a Discord id (digits only; got {value!r}); turn on "
            "Developer Mode and use Copy ID",
        )
    return int(value)


def _support_channels(text: str) -> list[str]:
    ids = [c.strip() for c in text.split(",") if c.strip()]
    if [c.lower() for c in ids] != ["auto"] and not all(c.isdigit() for c in ids):
        raise ConfigError(
            "DISCORD_SUPPORT_CHANNELS", "must be comma-separated channel ids, or auto alone"
        )
    return ids


def _standby_retry(text: str) -> float:
    try:
        seconds = float(text) if text else DEFAULT_STANDBY_RETRY_SECONDS
    except ValueError:
        seconds = 0.0  # refused just below, with the same words
    if not 0 < seconds <= 60:
        raise ConfigError(
            "DISCORD_STANDBY_RETRY_SECONDS", f"must be a number of seconds up to 60 (got {text!r})"
        )
    return seconds


def _team_roles(text: str, teams: tuple[str, ...]) -> dict[str, int]:
    try:
        roles = team_groups_from(
            text,
            teams,
            is_id=lambda role: role.isascii() and role.isdigit(),
            example="billing=123456789012345678,tier2=234567890123456789 (role ids)",
        )
    except RoutingConfigError as error:
        raise ConfigError("DISCORD_TEAM_ROLES", str(error)) from None
    return {team: int(role) for team, role in roles.items()}
