"""Slack settings from the environment; every problem names its variable, all found in one look."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.config_errors import ConfigError, Problems
from bot.routing_config import RoutingConfigError, team_groups_from
from bot.settings import DeskSettings

DEFAULT_API_URL = "https://slack.com/api/"
_TEAMS = DeskSettings().teams  # a desk's teams when its configuration names none


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str
    staff_channel: str
    app_token: str = ""
    signing_secret: str = ""
    help_channels: tuple[str, ...] = ()
    # SLACK_HELP_CHANNELS=auto: every channel the bot is a member of (see channels.py)
    help_auto: bool = False
    leads_channel: str = ""
    api_url: str = DEFAULT_API_URL
    http_port: int = 3000
    staff_group: str = ""  # a user group whose members are staff too
    # SLACK_TEAM_GROUPS: team -> the user group whose members are on it (besides those listed
    # under [routing.members])
    team_groups: dict[str, str] = field(default_factory=dict)
    # Slack's documented rates (a post per second per channel, the methods' tiers) times
    # this: a Slack-compatible server behind SLACK_API_URL may allow more
    rate_scale: float = 1.0

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def __repr__(self) -> str:  # tokens never reach logs
        mode = "socket" if self.socket_mode else "http"
        return f"SlackSettings(mode={mode}, staff_channel={self.staff_channel!r})"


def configured(env: Mapping[str, str]) -> bool:
    return bool(env.get("SLACK_BOT_TOKEN", "").strip())


def load(
    env: Mapping[str, str], teams: tuple[str, ...] = _TEAMS, problems: Problems | None = None
) -> SlackSettings:
    """`teams`: the desk's teams, which SLACK_TEAM_GROUPS may name. Raises the problems found
    (ConfigErrors when there are several); given `problems`, adds them there instead and
    returns the settings with defaults in their place, as bot.config.load_config does."""
    found = Problems() if problems is None else problems

    def get(name: str) -> str:
        return env.get(name, "").strip()

    token = get("SLACK_BOT_TOKEN")
    if not token.startswith("xoxb-"):
        found.found.append(
            ConfigError("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
        )
    app_token = get("SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        found.found.append(
            ConfigError("SLACK_APP_TOKEN", "must be an app-level token starting with xapp-")
        )
    secret = get("SLACK_SIGNING_SECRET")
    if not app_token and not secret:
        found.found.append(
            ConfigError(
                "SLACK_SIGNING_SECRET",
                "set it for HTTP mode, or set SLACK_APP_TOKEN for Socket Mode",
            )
        )
    staff = get("SLACK_STAFF_CHANNEL")
    if not staff:
        found.found.append(
            ConfigError(
                "SLACK_STAFF_CHANNEL",
                "set the channel id (like C0123ABCD) where tickets are worked",
            )
        )
    port = found.read(lambda: _port(get("SUPPORTBOT_HTTP_PORT") or "3000"), 3000)
    api_url = get("SLACK_API_URL") or DEFAULT_API_URL
    help_channels = found.read(
        lambda: _help_channels(get("SLACK_HELP_CHANNELS")), tuple[str, ...]()
    )
    help_auto = [c.lower() for c in help_channels] == ["auto"]
    team_groups = found.read(
        lambda: _team_groups(get("SLACK_TEAM_GROUPS"), teams), dict[str, str]()
    )
    rate_scale = found.read(lambda: _rate_scale(get("SLACK_RATE_SCALE") or "1"), 1.0)
    if problems is None:
        found.raise_any()
    return SlackSettings(
        bot_token=token,
        staff_channel=staff,
        app_token=app_token,
        signing_secret=secret,
        help_channels=() if help_auto else help_channels,
        help_auto=help_auto,
        leads_channel=get("SLACK_LEADS_CHANNEL"),
        api_url=api_url if api_url.endswith("/") else api_url + "/",
        http_port=port,
        staff_group=get("SLACK_STAFF_GROUP"),
        team_groups=team_groups,
        rate_scale=rate_scale,
    )


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:  # 0: any free port
        raise ConfigError("SUPPORTBOT_HTTP_PORT", f"{text!r} is not a TCP port")
    return int(text)


def _help_channels(text: str) -> tuple[str, ...]:
    channels = tuple(c.strip() for c in text.split(",") if c.strip())
    if len(channels) > 1 and any(c.lower() == "auto" for c in channels):
        raise ConfigError(
            "SLACK_HELP_CHANNELS", "is either channel ids (C0123ABCD,C0456EFGH) or auto alone"
        )
    return channels


def _team_groups(text: str, teams: tuple[str, ...]) -> dict[str, str]:
    try:
        return team_groups_from(
            text,
            teams,
            is_id=lambda group: re.fullmatch(r"S[A-Z0-9]+", group) is not None,
            example="billing=S0123ABCD,tier2=S0456EFGH (user group ids)",
        )
    except RoutingConfigError as error:
        raise ConfigError("SLACK_TEAM_GROUPS", str(error)) from None


def _rate_scale(text: str) -> float:
    try:
        scale = float(text)
    except ValueError:
        scale = 0.0
    if not 0.1 <= scale <= 1000:
        raise ConfigError(
            "SLACK_RATE_SCALE",
            f"{text!r} is not a factor between 0.1 and 1000 (1 keeps to Slack's own limits)",
        )
    return scale
