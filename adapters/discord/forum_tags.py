"""The staff forum's tags: each post shows its ticket's status, then the ticket's own tags.

Discord allows a forum 20 tags, a post 5 of them, and a tag's name 20 characters. The status
tag comes first; a ticket's tags follow in the order they were added, each created on the
forum the first time a post needs it, while the forum has room. A tag that cannot be a forum
tag (too long, a status tag's name, no room left, or past a post's 5) is left off the post;
the card lists every tag all the same.

Names and ids are cached. Discord holds the truth, and people (or another process) change a
forum's tags too: the tags are read again before any is created, and whenever Discord refuses
what the cache said."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import discord

log = logging.getLogger(__name__)

MAX_AVAILABLE = 20  # tags a forum offers
MAX_APPLIED = 5  # tags on one post
NAME_CHARS = 20  # characters of a tag's name
# the tags that show each ticket's state in the staff forum
TAGS = ("Open", "Claimed", "Escalated", "Waiting", "Closed")
STATUS_TAG = {
    "open": "Open",
    "claimed": "Claimed",
    "escalated": "Escalated",
    "waiting": "Waiting",
    "closed": "Closed",
    "reopened": "Open",
}
# a ticket tagged "closed" must not look closed in the forum
_RESERVED = {name.casefold() for name in TAGS}


class ForumTags:
    def __init__(self, client: discord.Client, forum_id: int) -> None:
        self.client = client
        self.forum_id = forum_id
        self.ids: dict[str, int] = {}  # tag name -> id; empty: not a forum (or not read yet)
        # one creation at a time: two at once would each write the list without the other's
        self._creating = asyncio.Lock()

    def status_ids(self, status: str) -> list[int]:
        tag = self.ids.get(STATUS_TAG.get(status, ""))
        return [tag] if tag else []

    async def applied(self, status: str, tags: Sequence[str]) -> list[int]:
        """The ids a post of a ticket with this status and these tags carries."""
        ids = self.status_ids(status)
        names = [t for t in tags if 0 < len(t) <= NAME_CHARS and t.casefold() not in _RESERVED]
        room = MAX_APPLIED - len(ids)
        # only the tags the post will show are created: the forum's 20 go a long way
        if any(self._id(n) is None for n in names[:room]):
            await self._create(names[:room])
        found = [self._id(n) for n in names]
        return ids + [i for i in found if i is not None][:room]

    async def refresh(self) -> discord.ForumChannel | None:
        """Read the forum's tags from Discord (None: the staff channel is not a forum)."""
        channel = await self.client.fetch_channel(self.forum_id)
        if not isinstance(channel, discord.ForumChannel):
            return None
        self.ids = {tag.name: tag.id for tag in channel.available_tags}
        return channel

    def _id(self, name: str) -> int | None:
        # a tag a person made as "Billing" is the ticket tag "billing"
        folded = name.casefold()
        return next((i for n, i in self.ids.items() if n.casefold() == folded), None)

    async def _create(self, names: list[str]) -> None:
        """Those of `names` the forum lacks (as read now), in order, while it has room."""
        async with self._creating:
            for _ in range(2):  # a second go when Discord refuses the first
                forum = await self.refresh()
                if forum is None:
                    return
                current = list(forum.available_tags)
                new = [n for n in names if self._id(n) is None][: MAX_AVAILABLE - len(current)]
                if not new:
                    return  # made meanwhile, or the forum is full: the card shows them
                try:
                    edited = await forum.edit(
                        available_tags=[*current, *(discord.ForumTag(name=n) for n in new)]
                    )
                except discord.Forbidden:
                    log.warning("discord: no Manage Channels on the staff forum to add tags")
                    return
                except discord.HTTPException as error:
                    if error.status != 400:
                        raise
                    # the forum's tags changed since we read them: read them again
                    log.info("discord: the forum refused new tags (%s)", error.text)
                    continue
                self.ids = {tag.name: tag.id for tag in edited.available_tags}
                return
