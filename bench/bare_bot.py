"""The least any Bolt app does for a customer's message, as the burst's floor on this machine:
look the customer up (users.info, for their name and language) and answer in their DM. No
database, no ticket, no staff channel. Run as `python -m bench.bare_bot` with the same
environment as `supportbot run` against the fake Slack; it says "started adapters" when its
Socket Mode connection is open, as supportbot does."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import WEB_API_CONNECTIONS  # the same connection pool as the bot's


async def main() -> None:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
    )
    connector = aiohttp.TCPConnector(limit=WEB_API_CONNECTIONS)
    client.session = aiohttp.ClientSession(connector=connector)
    app = AsyncApp(client=client)

    @app.event("message")
    async def answer(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.users_info(user=event["user"], include_locale=True)
        await client.chat_postMessage(channel=event["channel"], text="Thanks, we have it.")

    handler = AsyncSocketModeHandler(app, os.environ["SLACK_APP_TOKEN"])
    await handler.connect_async()  # type: ignore[no-untyped-call]
    print("bare bot: started adapters", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await handler.close_async()  # type: ignore[no-untyped-call]
    await client.session.close()


if __name__ == "__main__":
    asyncio.run(main())
