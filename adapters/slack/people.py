"""Who is who on Slack: names and locales of users, and who counts as staff.

Staff are the members of the staff channel (and of SLACK_STAFF_GROUP, if set). Answers are
cached for a minute (by the desk's clock), so a busy desk does not ask Slack on every message."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.model import Person

log = logging.getLogger(__name__)
PLATFORM = "slack"
_TTL = timedelta(minutes=1)


class People:
    def __init__(
        self, client: AsyncWebClient, staff_channel: str, clock: Clock, staff_group: str = ""
    ) -> None:
        self.client = client
        self.staff_channel = staff_channel
        self.staff_group = staff_group
        self.clock = clock
        self._staff: tuple[datetime, set[str]] | None = None
        self._users: dict[str, tuple[datetime, dict[str, Any]]] = {}

    async def is_staff(self, user_id: str) -> bool:
        now = self.clock.now()
        if self._staff is None or now - self._staff[0] > _TTL:
            members: set[str] = set()
            cursor = None
            while True:
                page = await self.client.conversations_members(
                    channel=self.staff_channel, cursor=cursor, limit=1000
                )
                members.update(page.get("members", []))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            if self.staff_group:
                group = await self.client.usergroups_users_list(usergroup=self.staff_group)
                members.update(group.get("users", []))
            self._staff = (now, members)
        return user_id in self._staff[1]

    async def person(self, user_id: str) -> Person:
        user = await self._user(user_id)
        profile = user.get("profile", {})
        name = profile.get("display_name") or user.get("real_name") or user.get("name") or user_id
        return Person(PLATFORM, user_id, str(name))

    async def locale(self, user_id: str) -> str:
        return str((await self._user(user_id)).get("locale", ""))

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
