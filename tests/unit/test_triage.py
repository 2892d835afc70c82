import pytest

from bot.model import Priority
from bot.triage import Triage


@pytest.mark.parametrize(
    ("text", "priority"),
    [
        ("Our shop is DOWN since 9am", Priority.URGENT),
        ("URGENT: please call", Priority.URGENT),
        ("ＵＲＧＥＮＴ", Priority.URGENT),  # full-width letters
        ("My laptop was stolen", Priority.URGENT),
        ("至急対応お願いします", Priority.URGENT),
        ("アカウントが盗まれました", Priority.URGENT),
        ("I want a refund", Priority.HIGH),
        ("返金してください", Priority.HIGH),
        ("How do I download the invoice?", Priority.NORMAL),  # "down" is not "download"
        ("Hello there", Priority.NORMAL),
    ],
)
def test_keywords_raise_priority(text: str, priority: Priority) -> None:
    assert Triage().priority_for(text)[0] is priority


def test_highest_priority_wins_and_rules_are_configurable() -> None:
    triage = Triage({Priority.HIGH: ("invoice",), Priority.URGENT: ("fire",)})
    assert Triage().priority_for("refund, and the site is down")[0] is Priority.URGENT
    assert triage.priority_for("invoice is on fire") == (Priority.URGENT, "fire")
    assert triage.priority_for("the site is down")[0] is Priority.NORMAL
