"""The shell adapter: reads lines (interactive on a terminal, scripted from a pipe) and prints
both sides of every ticket: the staff thread, what the customer sees, and command replies."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import IO

from adapters.shell.syntax import MENTION, Line, parse_line
from adapters.shell.terminal import Lines
from adapters.text import resolve_ticket_links
from bot import commands as c
from bot.buttons import UnknownButton, command_for_button
from bot.delivery.pacing import Route
from bot.kinds import MessageKind
from bot.model import Audience, OutboundMessage, Person, Source, Ticket, files_of
from bot.parser import is_command
from bot.ports import DeliveryReceipt, DeskPort, Outcome, StorageOutage

PLATFORM = "shell"
HELP = """\
Lines you can type:
  alice> text              customer alice writes (alice(ja)> for a Japanese-speaking customer)
  @bob> text               agent bob writes in the current ticket's thread (sent to the customer)
  @bob #3> // text         agent bob in ticket #3's thread; '//' or 'note:' keeps it internal
  @bob> /ticket claim      a command (/ticket help lists them all)
  alice> !csat:5:3         press a button shown in the transcript (@bob> !followup:done:7)
  @bob> !refund            send the saved reply "refund"; '!anon text' replies as the team
  :help  :quit             this help; leave (end of input leaves too)"""


def _is_press(text: str) -> bool:
    """A button id always holds a colon; an agent's `!refund` or `!anon ...` does not."""
    return text.startswith("!") and ":" in text.split(" ", 1)[0]


DM_PREFIX = "dm-"  # a customer's DM "channel" in the shell is their name after this


class ShellAdapter:
    platform = PLATFORM
    has_leads_channel = True  # the terminal shows the leads' side as well

    def __init__(self, out: IO[str], staff: tuple[str, ...] = ()) -> None:
        self.out = out
        self.staff = set(staff)
        self.current: int | None = None  # the ticket whose thread @agent lines go to
        self._ids = itertools.count(1)

    # --- outbound: the outbox sender calls this -------------------------------------------

    def route(self, message: OutboundMessage, ticket: Ticket | None) -> Route | None:
        return None  # a terminal has no rate limit

    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        message_id = f"m{next(self._ids)}"
        # a mark on a chat platform; the shell says "sent" itself
        if message.kind == MessageKind.DELIVERED:
            return DeliveryReceipt(message_id)
        number = message.ticket_number
        if message.audience is Audience.CUSTOMER:
            who = ticket.customer_name if ticket else message.channel.removeprefix(DM_PREFIX)
            head = f"[to {who}]" + (f" {message.author_name}:" if message.author_name else "")
        elif message.audience is Audience.LEADS:
            head = "[leads]"
        else:
            head = f"[staff #{number}]"
            if message.kind == MessageKind.CARD:
                head += " new ticket"
            # the full card was shown once: say what changed
            elif message.kind == MessageKind.CARD_UPDATE:
                d = message.data
                summary = f"{d['status']} · {d['priority']} · {d['assignee'] or 'unassigned'}"
                self.out.write(f"{head} card: {summary}\n")
                self.out.flush()
                return DeliveryReceipt(message_id)
            elif message.kind == MessageKind.NOTE:
                head += f" (internal note) {message.author_name}:"
            elif message.author_name:
                head += f" {message.author_name}:"
        if message.mentions:
            head += " " + " ".join(m if m.startswith("@") else f"@{m}" for m in message.mentions)
        self._print(head, resolve_ticket_links(message.body, lambda n: f"#{n}"))
        if attached := files_of(message):  # a terminal shows what a chat would attach
            names = ", ".join(f"{f.name} ({len(f.text.encode()):,} bytes)" for f in attached)
            self.out.write(f"    files: {names}\n")
        if message.actions:
            buttons = "  ".join(f"[{a.label}] !{a.id}" for a in message.actions)
            self.out.write(f"    buttons: {buttons}\n")
        self.out.flush()
        return DeliveryReceipt(message_id, channel="staff", thread=f"ticket-{number}")

    # --- inbound: lines typed or piped in ------------------------------------------------

    async def run(self, desk: DeskPort, lines: Lines, after_line: Callable[[], object]) -> None:
        """Handle lines until end of input or :quit; `after_line` lets deliveries show up."""
        if lines.interactive:
            self.out.write(HELP + "\n")
        while True:
            prompt = f"(#{self.current}) > " if self.current else "> "
            raw = await lines.read(prompt)
            if raw == "":
                return
            if not await self.handle_line(desk, raw):
                return
            result = after_line()
            if asyncio.iscoroutine(result):
                await result

    async def handle_line(self, desk: DeskPort, raw: str) -> bool:
        line = parse_line(raw)
        if line.kind == "skip":
            return True
        if line.kind == "meta":
            if line.text in ("q", "quit", "exit"):
                return False
            self.out.write(HELP + "\n")
            return True
        if line.kind == "bad":
            self.out.write(
                f"[shell] I can't read {line.text!r}. Start with 'name>' for a "
                "customer or '@name>' for an agent; :help shows the syntax.\n"
            )
            return True
        try:
            outcome = await (
                self._customer(desk, line) if line.kind == "customer" else self._agent(desk, line)
            )
        except StorageOutage as outage:  # nothing of the line was kept: say so, lose nothing
            self.out.write(
                f"[shell] The database is unavailable ({outage}); that line was not saved. "
                "Send it again when the database is back.\n"
            )
            return True
        if outcome.ticket_number is not None and line.kind == "customer" and outcome.ok:
            self.current = outcome.ticket_number
        if outcome.text:
            self._print(
                f"[reply to {'@' if line.kind == 'agent' else ''}{line.name}]", outcome.text
            )
        return True

    async def _customer(self, desk: DeskPort, line: Line) -> Outcome:
        person = Person(PLATFORM, line.name, line.name)
        caller = c.Caller(person)
        if line.text.startswith("!"):
            return await self._press(desk, line.text[1:].strip(), caller)
        if is_command(line.text):
            return await desk.handle_text(line.text, caller)
        source = Source(PLATFORM, "", f"{DM_PREFIX}{line.name}", "", True)
        return await desk.handle(
            c.RelayCustomerMessage(person, source, line.text, locale=line.locale), caller
        )

    async def _agent(self, desk: DeskPort, line: Line) -> Outcome:
        person = Person(PLATFORM, line.name, line.name)
        number = line.number if line.number is not None else self.current
        if line.number is not None:
            self.current = line.number
        mentions = {f"@{m}": Person(PLATFORM, m, m) for m in MENTION.findall(line.text)}
        staff = self._is_staff(line.name)  # one person at a terminal is staff and lead
        caller = c.Caller(
            person,
            is_staff=staff,
            is_lead=staff,
            in_ticket=number,
            mentions=mentions,
            mentioned_staff=frozenset(p.ref for p in mentions.values() if self._is_staff(p.name)),
        )
        if _is_press(line.text):  # `!ticket:claim:1`; `!refund` is a thread message
            return await self._press(desk, line.text[1:].strip(), caller)
        if is_command(line.text):
            return await desk.handle_text(line.text, caller)
        if not caller.is_staff:
            return await desk.handle_text("/ticket", caller)  # the core explains who may do this
        if number is None:
            return Outcome("No current ticket: name one like '@bob #3> text'.", ok=False)
        return await desk.handle(c.RelayAgentMessage(number, line.text), caller)

    async def _press(self, desk: DeskPort, action_id: str, caller: c.Caller) -> Outcome:
        try:
            command = command_for_button(action_id)
        except UnknownButton:
            if action_id.startswith("ticket:escalate:"):
                number = action_id.rsplit(":", 1)[-1]
                return Outcome(
                    f"Escalating needs a team: /ticket escalate #{number} <team> [reason]", ok=False
                )
            return Outcome(f"There is no button {action_id!r}.", ok=False)
        return await desk.handle(command, caller)

    def _is_staff(self, name: str) -> bool:
        return not self.staff or name in self.staff

    def _print(self, head: str, body: str) -> None:
        lines = body.splitlines() or [""]
        if len(lines) == 1:
            self.out.write(f"{head} {lines[0]}\n")
        else:
            self.out.write(head + "\n" + "".join(f"    {line}\n" for line in lines))
        self.out.flush()
