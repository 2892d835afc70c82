"""A transcript of ticket #1 written to the outbox as the desk writes one, for the adapters'
file tests (Slack's uploads, Discord's attachments)."""

from __future__ import annotations

from datetime import datetime

from bot.kinds import MessageKind
from bot.model import Audience, FileToSend, OutboundMessage, with_files
from bot.ports import UnitOfWorkFactory

FILES = [
    FileToSend("ticket-1.html", "text/html", "<h1>Ticket #1</h1>\n<p>Alice: Printer on fire</p>"),
    FileToSend("ticket-1.txt", "text/plain", "Ticket #1\nAlice: Printer on fire — ça brûle ✓\n"),
]
BODY = "Transcript of ticket #1 (2 messages)."


async def write_transcript(
    uow_factory: UnitOfWorkFactory,
    platform: str,
    at: datetime,
    audience: Audience = Audience.STAFF,
    files: list[FileToSend] = FILES,
) -> None:
    async with uow_factory() as uow:
        ticket = await uow.tickets.by_number(1)
        assert ticket is not None
        customer = audience is Audience.CUSTOMER
        message = OutboundMessage(
            platform,
            audience,
            MessageKind.TRANSCRIPT,
            BODY,
            ticket_id=ticket.id,
            ticket_number=1,
            channel=ticket.source.channel if customer else "",
            thread=ticket.source.thread if customer else "",
            data=with_files(files),
        )
        await uow.outbox.add(message, at)
        await uow.commit()
