"""Transcripts: made at every close (kept, and posted as files in the staff thread), on demand
with /ticket transcript, and as the customer's own copy where the desk allows it."""

from __future__ import annotations

from html.parser import HTMLParser

from bot import commands as c
from bot.desk.transcripts import Transcript
from bot.kinds import MessageKind
from bot.model import Attachment, Audience, FileToSend, OutboundMessage, files_of
from bot.ports import DeliveryError
from tests.unit.conftest import World, customer, dm, make_world, staff


class _Page(HTMLParser):
    """What a browser would make of the page: its elements, and the text of each message."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.texts: list[str] = []
        self.classes: list[str] = []
        self._in_text = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "a":
            self.links.append(found.get("href") or "")
        if tag == "article":
            self.classes.append(found.get("class") or "")
        if tag == "p" and found.get("class") == "text":
            self._in_text = True
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_text = False

    def handle_data(self, data: str) -> None:
        if self._in_text:
            self.texts[-1] += data

    def handle_comment(self, data: str) -> None:
        self.tags.append("<!--")

    def handle_decl(self, decl: str) -> None:
        self.tags.append(f"<!{decl}>")


def _parsed(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _posted(world: World, audience: Audience = Audience.STAFF) -> list[OutboundMessage]:
    return [
        m
        for m in world.out.delivered
        if m.kind == MessageKind.TRANSCRIPT and m.audience is audience
    ]


def _file(message: OutboundMessage, suffix: str) -> FileToSend:
    [found] = [f for f in files_of(message) if f.name.endswith(suffix)]
    return found


CUSTOMER_TEXT = "Hi <script>alert('x')</script> <!channel> my invoice is wrong"


async def _worked_and_closed(world: World) -> None:
    alice = customer()
    attachments = (
        Attachment("invoice.pdf", "https://files.example/invoice.pdf"),
        Attachment("trick", "javascript:alert(1)"),
    )
    await world.desk.handle(
        c.RelayCustomerMessage(alice, dm(), CUSTOMER_TEXT, attachments=attachments),
        c.Caller(alice),
    )
    await world.desk.handle(c.RelayAgentMessage(1, "// VIP since 2019"), staff())
    await world.desk.handle(c.RelayAgentMessage(1, "Fixed it, sorry!"), staff())
    await world.sender.drain()  # the reply reaches the customer, or fails, before the close
    await world.staff_says("/ticket close #1 invoice corrected")
    await world.sender.drain()


async def test_a_close_posts_the_transcript_as_a_page_and_as_text() -> None:
    world = make_world(timezone="Asia/Tokyo")
    await _worked_and_closed(world)
    [posted] = _posted(world)
    assert posted.body == ("Transcript of ticket #1 (3 messages), as a web page and as plain text.")
    assert [f.name for f in files_of(posted)] == ["ticket-1.html", "ticket-1.txt"]
    page = _parsed(_file(posted, ".html").text)
    assert page.texts == [CUSTOMER_TEXT, "VIP since 2019", "Fixed it, sorry!"]
    assert "script" not in page.tags  # the customer's <script> is text, not a script
    assert not [t for t in page.tags if t.startswith("<!") and t != "<!DOCTYPE html>"]
    assert page.classes == ["message customer", "message internal", "message agent"]
    assert page.links == ["https://files.example/invoice.pdf"]  # never a javascript: link
    text = _file(posted, ".txt").text
    assert f"] Alice: {CUSTOMER_TEXT}" in text
    assert "] bob (internal note): VIP since 2019" in text
    assert "📎 invoice.pdf https://files.example/invoice.pdf" in text
    assert " JST] " in text  # times in the desk's time zone
    assert "bob closed the ticket: invoice corrected" in text  # the audit trail too


async def test_every_close_keeps_its_transcript(world: World) -> None:
    await _worked_and_closed(world)
    await world.staff_says("/ticket reopen #1 one more thing")
    await world.desk.handle(c.RelayAgentMessage(1, "Also refunded the fee."), staff())
    await world.staff_says("/ticket close #1")
    assert len(world.store.transcripts) == 2
    first, second = (Transcript.from_document(doc) for _, _, doc in world.store.transcripts)
    assert len(first.conversation) == 3
    assert [s.text for s in second.conversation][-1] == "Also refunded the fee."
    assert second.status == "Closed"


async def test_an_undelivered_message_is_marked_in_the_transcript(world: World) -> None:
    world.out.failures[MessageKind.AGENT_REPLY] = [DeliveryError("channel gone", permanent=True)]
    await _worked_and_closed(world)
    [posted] = _posted(world)
    page = _parsed(_file(posted, ".html").text)
    assert page.classes[-1] == "message agent undelivered"
    assert "] bob (not delivered): Fixed it, sorry!" in _file(posted, ".txt").text


async def test_an_agent_posts_the_transcript_on_demand(world: World) -> None:
    await world.customer_says("The app crashes")
    outcome = await world.staff_says("/ticket transcript", in_ticket=1)
    assert outcome.text == "The transcript of #1 is on its way to the ticket's thread."
    await world.sender.drain()
    [posted] = _posted(world)
    assert "Status: Open" in _file(posted, ".txt").text
    assert world.store.transcripts == []  # only a close keeps one


async def test_the_customer_gets_no_transcript_unless_the_desk_allows_it(world: World) -> None:
    await _worked_and_closed(world)
    [farewell] = [m for m in world.out.delivered if m.kind == MessageKind.FAREWELL]
    assert farewell.actions == []
    pressed = await world.desk.handle(c.SendTranscript(1), c.Caller(customer()))
    assert not pressed.ok
    assert pressed.text.startswith("We cannot send transcripts here.")
    await world.sender.drain()
    assert _posted(world, Audience.CUSTOMER) == []


async def test_the_customers_copy_leaves_out_notes_and_history_in_their_language() -> None:
    world = make_world(customer_transcripts=True)
    await world.customer_says("請求書が間違っています", locale="ja")
    await world.desk.handle(c.RelayAgentMessage(1, "// VIP"), staff())
    await world.desk.handle(c.RelayAgentMessage(1, "直しました。"), staff())
    await world.staff_says("/ticket close #1")
    await world.sender.drain()
    [farewell] = [m for m in world.out.delivered if m.kind == MessageKind.FAREWELL]
    assert [(a.id, a.label) for a in farewell.actions] == [
        ("transcript:send:1", "やり取りの記録を受け取る")
    ]
    stranger = await world.desk.handle(c.SendTranscript(1), c.Caller(customer("mallory")))
    assert not stranger.ok  # another customer's ticket: nothing is sent
    await world.desk.handle(c.SendTranscript(1), c.Caller(customer()))
    await world.sender.drain()
    [copy] = _posted(world, Audience.CUSTOMER)
    assert copy.body.startswith("チケット #1 のやり取りの記録をお送りします。")
    text = _file(copy, ".txt").text
    assert "VIP" not in text
    assert "履歴" not in text
    assert "] Alice さん：請求書が間違っています" in text
    assert "] bob さん：直しました。" in text
    shown = await world.staff_says("/ticket show #1")
    assert "The customer was sent their copy of the transcript." in shown.text


async def test_a_failed_card_update_does_not_mark_the_reply_beside_it(world: World) -> None:
    # the reply's card update is written with it, at the same moment, and fails for good
    world.out.failures[MessageKind.CARD_UPDATE] = [
        DeliveryError("message_not_found", permanent=True)
    ]
    await _worked_and_closed(world)
    [posted] = _posted(world)
    assert "(not delivered)" not in _file(posted, ".txt").text
