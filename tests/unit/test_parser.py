from datetime import timedelta

import pytest

from bot import commands as c
from bot.durations import BadDuration, format_duration, parse_duration
from bot.model import Priority
from bot.parser import UsageError, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ticket claim", c.ClaimTicket(None)),
        ("/ticket claim #42", c.ClaimTicket(42)),
        ("claim #42", c.ClaimTicket(42)),  # Slack passes the text without /ticket
        ("/ticket assign #3 @carol", c.AssignTicket("@carol", 3)),
        (
            "/ticket escalate Billing card charged twice",
            c.EscalateTicket("billing", "card charged twice"),
        ),
        ("/ticket escalate #7 engineering", c.EscalateTicket("engineering", "", 7)),
        ("/ticket close #5 replaced the router", c.CloseTicket("replaced the router", 5)),
        ("/ticket close", c.CloseTicket("", None)),
        ("/ticket reopen #5 customer called back", c.ReopenTicket("customer called back", 5)),
        ("/ticket note #5 VIP customer", c.AddNote("VIP customer", 5)),
        ("/ticket priority urgent", c.SetPriority(Priority.URGENT)),
        (
            "/ticket followup #2 in 2d4h check the fix",
            c.ScheduleFollowUp(timedelta(days=2, hours=4), "check the fix", 2),
        ),
        ("/ticket list", c.ListTickets("open")),
        ("/ticket list mine", c.ListTickets("mine")),
        ("/ticket show #9", c.ShowTicket(9)),
        ("/ticket show 9", c.ShowTicket(9)),
        ("/ticket help", c.Help()),
        ("/ticket", c.Help()),
    ],
)
def test_parses_every_subcommand(text: str, expected: c.Command) -> None:
    assert parse(text) == expected


def test_resolution_starting_with_a_number_is_not_a_ticket_number() -> None:
    assert parse("/ticket close 3 cables replaced") == c.CloseTicket("3 cables replaced", None)


@pytest.mark.parametrize(
    ("text", "key", "usage_part"),
    [
        ("/ticket frobnicate", "unknown_subcommand", "/ticket help"),
        ("/ticket assign #3", "missing_argument", "/ticket assign [#N] @agent"),
        ("/ticket escalate", "missing_argument", "<team>"),
        ("/ticket note #2", "missing_argument", "<text>"),
        ("/ticket priority sky-high", "bad_priority", "urgent|high|normal|low"),
        ("/ticket followup in 3 days", "bad_duration", "in <duration>"),
        ("/ticket followup #3 3d", "missing_argument", "in <duration>"),
        ("/ticket list everything", "bad_list_filter", "mine|open"),
        ("/ticket claim #4 now", "unexpected_argument", "/ticket claim"),
    ],
)
def test_bad_commands_say_what_is_wrong_and_show_usage(
    text: str, key: str, usage_part: str
) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert caught.value.key == key
    assert usage_part in caught.value.usage


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("2d4h", timedelta(days=2, hours=4)),
        ("1W2D", timedelta(days=9)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["", "0m", "3", "3 days", "4h2d", "-1h", "1y", "999w"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(BadDuration):
        parse_duration(text)
