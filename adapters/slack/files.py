"""Outbox messages that carry files (a ticket's transcript): the files shared in one Slack
message, the outbox message's text as their comment.

slack_sdk's `files_upload_v2` takes Slack's three steps: files.getUploadURLExternal for each
file, the file's bytes to the URL that returns, then one files.completeUploadExternal that
shares them all in the channel or thread. Both methods are Tier 4 (100+ calls a minute per
workspace), each counted on its own. The outbox sender takes the completion's turn (one per
message: `upload_route(COMPLETE)`) before the send holds a sending slot; the file URLs (one
per file) take theirs from the client's pacer just before the upload, where Tier 4's bursts
leave them nothing to wait for but in a rush. Each lane is paced by one pacer only, so no
call is counted twice or missed.

A share carries no message metadata. A message in doubt (its last attempt got no answer, so
Slack may have shared the files) is looked for instead as a message with these files' names
and this comment, posted since shortly before the outbox row was written; an upload that
was never completed shows nowhere (Slack discards it), so sending again is then safe."""

from __future__ import annotations

import html
import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.pacing import PacedWebClient, paced_ahead, retry_after
from bot.delivery.pacing import Route
from bot.model import FileToSend, OutboundMessage
from bot.ports import DeliveryError, DeliveryReceipt

log = logging.getLogger(__name__)

UPLOAD_URL = "files.getUploadURLExternal"
COMPLETE = "files.completeUploadExternal"
_TIER_4 = 100  # calls a minute per workspace, for each of the two methods
_LOOKBACK_SECONDS = 60  # a share in doubt was made after its row was written; look back so far


def upload_route(method: str = UPLOAD_URL, scale: float = 1.0) -> Route:
    """A method's lane, keyed as `tier_route` keys one, so every process shares its turns."""
    return Route(
        f"slack:{method}", _TIER_4 * scale / 60, burst=_TIER_4 // 6, serial=False, shared=True
    )


async def share_files(
    client: AsyncWebClient,
    channel: str,
    thread: str,
    comment: str,
    files: list[FileToSend],
    message: OutboundMessage,
    scale: float = 1.0,
) -> DeliveryReceipt:
    """Upload `files` and share them in `channel` (in `thread`, if given) with `comment`.
    The receipt names the first file: a share is known by its files, not by a ts."""
    if message.in_doubt:
        found = await _already_shared(client, channel, thread, comment, files, message)
        if found is not None:
            return found
    pacer = client.pacer if isinstance(client, PacedWebClient) else None
    if pacer is not None:
        for _ in files:  # the sender took the completion's turn
            async with pacer.turn(upload_route(UPLOAD_URL, scale)):
                pass
    args: dict[str, Any] = {
        "file_uploads": [{"filename": f.name, "content": f.text, "title": f.name} for f in files],
        "channel": channel,
        "initial_comment": comment,
    }
    if thread:
        args["thread_ts"] = thread
    try:
        with paced_ahead(UPLOAD_URL, COMPLETE):  # their turns were taken above
            response = await client.files_upload_v2(**args)
    except SlackApiError as error:
        wait = retry_after(error)
        if wait is not None and pacer is not None and _method(error) == UPLOAD_URL:
            pacer.hold(upload_route(UPLOAD_URL, scale), wait)  # the sender holds the other
        raise
    except SlackRequestError as error:  # the bytes were refused: nothing was shared
        raise DeliveryError(f"Slack refused the upload: {error}") from error
    shared = response.get("files") or []
    return DeliveryReceipt(str(shared[0]["id"]) if shared else "", channel, thread)


def _method(error: SlackApiError) -> str:
    url = str(getattr(error.response, "api_url", ""))
    return COMPLETE if url.endswith(COMPLETE) else UPLOAD_URL


async def _already_shared(
    client: AsyncWebClient,
    channel: str,
    thread: str,
    comment: str,
    files: list[FileToSend],
    message: OutboundMessage,
) -> DeliveryReceipt | None:
    """The share an earlier attempt made of these files, if Slack has it. Matched by the
    files' names and the comment (Slack escapes text its own way, so both are unescaped):
    another message with both, in the same minute, would be a copy of this one."""
    names = sorted(f.name for f in files)
    oldest = message.created_at.timestamp() - _LOOKBACK_SECONDS if message.created_at else 0.0
    cursor = ""
    while True:
        args: dict[str, Any] = {"channel": channel, "limit": 200}
        if cursor:
            args["cursor"] = cursor
        if thread:
            page = await client.conversations_replies(ts=thread, oldest=f"{oldest:.6f}", **args)
        else:
            page = await client.conversations_history(oldest=f"{oldest:.6f}", **args)
        for posted in page.get("messages") or []:
            on_it = posted.get("files") or []
            if (
                on_it
                and float(posted.get("ts", 0)) >= oldest
                and sorted(str(f.get("name", "")) for f in on_it) == names
                and html.unescape(str(posted.get("text", ""))) == html.unescape(comment)
            ):
                log.info("outbox message %s: its files were already in Slack", message.id)
                return DeliveryReceipt(str(on_it[0].get("id", "")), channel, thread)
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return None
