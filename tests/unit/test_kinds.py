"""The desk's vocabularies are stored as plain strings, and a kind this version does not know
(a newer worker wrote it during a rolling deploy) reads back without failing the read."""

from __future__ import annotations

from bot.kinds import EventKind, MessageKind


def test_a_kind_is_stored_and_compared_as_its_string() -> None:
    assert MessageKind("card") is MessageKind.CARD
    assert str(EventKind.FIRST_RESPONSE) == "first_response"
    assert f"notice_{EventKind.CHECKIN_SENT}" == "notice_checkin_sent"  # text keys built on it


def test_an_unknown_kind_reads_back_as_a_kind_of_its_own() -> None:
    sticker = MessageKind("sticker")
    assert isinstance(sticker, MessageKind)
    assert sticker == "sticker"
    assert str(sticker) == "sticker"
    assert sticker not in list(MessageKind)
    assert all(sticker != known for known in MessageKind)
    assert EventKind("merged") != EventKind.CLOSED
