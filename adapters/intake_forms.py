"""What Slack's "Contact support" form and Discord's panel share: the texts around the
intake categories, and how a filled-in form becomes the fields of an OpenTicket.

A form holds the picked category's questions, then (where there is room) a description. The
description is what the customer said, so it is the ticket's first message and its first line
the subject, as for any message. A Discord form whose five fields are all questions has no
description: the answers are then the first message, and the first answer is the subject
(operators put "in one line, what is wrong?" first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.ports import CategoryChoice, DeskPort

# "Something else": a value no category can have (their names are identifiers)
OTHER = "-"
ANSWER_CHARS = 300  # an answer is one line on the card; the description holds the rest
DESCRIPTION_CHARS = 3000  # Slack's largest text input (Discord's is 4000)


def shown(choice: CategoryChoice) -> str:
    """ "💳 Billing": how a category reads in a picker or a form's title."""
    return f"{choice.emoji} {choice.label}".strip()


def find(desk: DeskPort, name: str, locale: str) -> CategoryChoice | None:
    """The category named so, in `locale`; None for "Something else" or one since removed."""
    return next((c for c in desk.categories(locale) if c.name == name), None)


@dataclass(frozen=True)
class Filled:
    text: str
    subject: str
    answers: tuple[tuple[str, str], ...]


def filled_in(choice: CategoryChoice | None, answers: Sequence[str], description: str) -> Filled:
    """The ticket's first message, subject and answers from what the form held. Answers past
    the category's questions (it changed while the form was open) join the message, so
    nothing the customer wrote is lost."""
    questions = choice.questions if choice else []
    pairs = tuple(
        (question, answer.strip())
        for question, answer in zip(questions, answers, strict=False)
        if answer.strip()
    )
    extra = [a.strip() for a in answers[len(questions) :] if a.strip()]
    description = description.strip()
    if description:
        return Filled("\n\n".join([description, *extra]), "", pairs)
    lines = [f"{question} {answer}" for question, answer in pairs]
    subject = pairs[0][1] if pairs else ""
    return Filled("\n".join([*lines, *extra]), subject, pairs)
