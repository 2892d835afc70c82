"""Who is who on Slack: names and locales of users, and who counts as staff.

Staff are the members of the staff channel (and of SLACK_STAFF_GROUP, if set); an agent is on
the teams whose user group (SLACK_TEAM_GROUPS) has them. Answers are cached for a minute (by
the desk's clock), so a busy desk does not ask Slack on every message."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.model import Person

log = logging.getLogger(__name__)
PLATFORM = "slack"
_TTL = timedelta(minutes=1)


class People:
    def __init__(
        self,
        client: AsyncWebClient,
        staff_channel: str,
        clock: Clock,
        staff_group: str = "",
        leads_channel: str = "",
    ) -> None:
        self.client = client
        self.staff_channel = staff_channel
        self.staff_group = staff_group
        self.leads_channel = leads_channel
        self.clock = clock
        self._groups: dict[str, tuple[datetime, set[str]]] = {}
        self._users: dict[str, tuple[datetime, dict[str, Any]]] = {}
        self._team_groups: dict[str, tuple[datetime, frozenset[str]]] = {}

    async def is_staff(self, user_id: str) -> bool:
        return user_id in await self._members("staff")

    async def is_lead(self, user_id: str) -> bool:
        """Leads are the members of the leads channel, where their reports go."""
        return bool(self.leads_channel) and user_id in await self._members("leads")

    async def _members(self, which: str) -> set[str]:
        now = self.clock.now()
        cached = self._groups.get(which)
        if cached is None or now - cached[0] > _TTL:
            channel = self.staff_channel if which == "staff" else self.leads_channel
            members = await self._channel_members(channel)
            if which == "staff" and self.staff_group:
                group = await self.client.usergroups_users_list(usergroup=self.staff_group)
                members.update(group.get("users", []))
            cached = (now, members)
            self._groups[which] = cached
        return cached[1]

    async def teams_of(self, user_id: str, groups: Mapping[str, str]) -> frozenset[str]:
        """The teams (of `groups`: team -> user group id) whose user group has the user."""
        return frozenset(
            [team for team, group in groups.items() if user_id in await self._group(group)]
        )

    async def _group(self, group: str) -> frozenset[str]:
        now = self.clock.now()
        cached = self._team_groups.get(group)
        if cached is None or now - cached[0] > _TTL:
            try:
                response = await self.client.usergroups_users_list(usergroup=group)
            except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as error:
                # the command goes on: the desk counts the members listed in its configuration
                reason = error.response.get("error") if isinstance(error, SlackApiError) else error
                log.warning("usergroups.users.list failed for %s: %s", group, reason)
                return frozenset()
            cached = (now, frozenset(response.get("users") or []))
            self._team_groups[group] = cached
        return cached[1]

    async def _channel_members(self, channel: str) -> set[str]:
        members: set[str] = set()
        cursor = None
        while True:
            page = await self.client.conversations_members(
                channel=channel, cursor=cursor, limit=1000
            )
            members.update(page.get("members", []))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members

    async def person(self, user_id: str) -> Person:
        user = await self._user(user_id)
        profile = user.get("profile", {})
        name = profile.get("display_name") or user.get("real_name") or user.get("name") or user_id
        return Person(PLATFORM, user_id, str(name))

    async def locale(self, user_id: str) -> str:
        return str((await self._user(user_id)).get("locale", ""))

    async def timezone(self, user_id: str) -> str:
        """The user's IANA time zone ("Asia/Tokyo") as their Slack profile has it; read from
        the same cached users.info as their name and language."""
        return str((await self._user(user_id)).get("tz") or "")

    async def _user(self, user_id: str) -> dict[str, Any]:
        now = self.clock.now()
        cached = self._users.get(user_id)
        if cached is None or now - cached[0] > _TTL:
            try:
                response = await self.client.users_info(user=user_id, include_locale=True)
            except SlackApiError as error:
                # a missing profile must not lose the message: go on with the bare user id
                log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
                return {}
            cached = (now, dict(response.get("user") or {}))
            self._users[user_id] = cached
        return cached[1]
