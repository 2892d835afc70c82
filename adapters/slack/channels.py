"""Where customers ask on Slack: the channels SLACK_HELP_CHANNELS lists, or with `auto` every
channel the bot is a member of, except the staff and leads channels. Slack Connect channels
count too: their external members are customers like any other (staff are the members of the
staff channel, wherever they come from).

Slack sends a channel's messages only while the bot is a member, so a message from a channel
not known yet is most likely from one the bot was just invited to: the bot's channels
(`users.conversations`) are read again then, at most every few seconds."""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.settings import SlackSettings
from bot.clock import Clock

_RELOOK = timedelta(seconds=5)
_PAGE = 200  # users.conversations: Slack advises no more than 200 a page


class HelpChannels:
    def __init__(self, client: AsyncWebClient, settings: SlackSettings, clock: Clock) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self._member_of: set[str] = set()
        self._shared: set[str] = set()  # Slack Connect channels among them
        self._looked_at: datetime | None = None

    @property
    def auto(self) -> bool:
        return self.settings.help_auto

    async def covers(self, channel: str, kind: str) -> bool:
        """Whether a message in `channel` (of the event's `channel_type`) comes from someone
        asking for help. With `auto`, may ask Slack (raising SlackApiError or a connection
        error when Slack does not answer)."""
        if channel in (self.settings.staff_channel, self.settings.leads_channel):
            return False
        if not self.auto:
            return channel in self.settings.help_channels
        if kind not in ("channel", "group"):  # a group DM is no channel the bot was asked in
            return False
        if channel not in self._member_of:
            now = self.clock.now()
            if self._looked_at is None or now - self._looked_at >= _RELOOK:
                await self.look()
        return channel in self._member_of

    async def look(self) -> None:
        """Read the bot's channels (public and private, not archived) from Slack."""
        member_of: set[str] = set()
        shared: set[str] = set()
        cursor = None
        while True:
            page = await self.client.users_conversations(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=_PAGE,
                cursor=cursor,
            )
            for channel in page.get("channels") or []:
                member_of.add(str(channel["id"]))
                if channel.get("is_ext_shared"):
                    shared.add(str(channel["id"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        self._member_of, self._shared = member_of, shared
        self._looked_at = self.clock.now()

    def described(self) -> str:
        """For the log at start."""
        if not self.auto:
            return f"{len(self.settings.help_channels)} listed"
        helping = self._member_of - {self.settings.staff_channel, self.settings.leads_channel}
        shared = len(helping & self._shared)
        return (
            f"auto: the {len(helping)} channel(s) the bot is in now"
            f"{f' ({shared} Slack Connect)' if shared else ''}, and any it is invited to"
        )
