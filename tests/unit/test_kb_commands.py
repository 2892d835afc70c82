"""`/ticket kb` and `/ticket similar` parse the same for every adapter; the customer's "This
solved it" is a button on the survey's route."""

from __future__ import annotations

import pytest

from bot import commands as c
from bot.buttons import command_for_button
from bot.parser import UsageError, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ticket kb refund", c.SearchArticles("refund")),
        ("kb I can't log in", c.SearchArticles("I can't log in")),
        ("/ticket kb #4 money back", c.SearchArticles("money back", 4)),
        ("/ticket kb search send money abroad", c.SearchArticles("send money abroad")),
        ("/ticket kb search #4 login", c.SearchArticles("login", 4)),
        ("/ticket kb send reset-password", c.SendArticle("reset-password")),
        ("/ticket kb send reset-password #4", c.SendArticle("reset-password", 4)),
        ("/ticket kb send #4 reset-password", c.SendArticle("reset-password", 4)),
        ("/ticket kb #4 send reset-password", c.SendArticle("reset-password", 4)),
        ("/ticket kb SEND Refund_Policy.v2", c.SendArticle("Refund_Policy.v2")),
        ("/ticket similar", c.ShowSimilar()),
        ("/ticket similar #4", c.ShowSimilar(4)),
    ],
)
def test_kb_parses(text: str, expected: c.Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("/ticket kb", "missing_argument"),
        ("/ticket kb search", "missing_argument"),
        ("/ticket kb send", "missing_argument"),
        ("/ticket kb send two words", "unexpected_argument"),
        ("/ticket kb send ../etc/passwd", "bad_article_id"),
        ("/ticket similar #4 more", "unexpected_argument"),
    ],
)
def test_bad_kb_commands_show_the_usage(text: str, key: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse(text)
    assert refused.value.key == key
    assert refused.value.usage.startswith(("/ticket kb [search]", "/ticket similar"))


def test_the_offers_buttons_have_their_own_route() -> None:
    assert command_for_button("kb:solved:7") == c.SolvedBySuggestion(7)
    assert command_for_button("kb:help:7") == c.StillNeedHelp(7)
    # buttons of the first offers, on the survey's route, still in customers' DMs
    assert command_for_button("csat:0:7") == c.SolvedBySuggestion(7)
    assert command_for_button("csat:help:7") == c.RateTicket(7, None)
