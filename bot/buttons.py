"""Button ids (`ticket:claim:42`, `csat:5:42`, `followup:snooze:7`, `checkin:good:42`,
`transcript:send:42`, and under an article offered with a new ticket `kb:solved:42` and
`kb:help:42`) read back into commands, for every adapter."""

from __future__ import annotations

from bot import commands as c


class UnknownButton(ValueError):
    pass


def command_for_button(button_id: str) -> c.Command:
    """The command a button press means. Escalate needs a team, so adapters open a form first."""
    kind, _, rest = button_id.partition(":")
    verb, _, number_text = rest.partition(":")
    if not number_text.isdigit():
        raise UnknownButton(button_id)
    number = int(number_text)
    if kind == "ticket":
        if verb == "claim":
            return c.ClaimTicket(number)
        if verb == "close":
            return c.CloseTicket(number=number)
        if verb == "reopen":
            return c.ReopenTicket(number=number)
    if kind == "followup":  # the number is the follow-up's own id
        if verb == "checkin":
            return c.SendCheckIn(number)
        if verb == "snooze":
            return c.SnoozeFollowUp(number)
        if verb == "done":
            return c.CompleteFollowUp(number)
    if kind == "checkin" and verb in ("good", "trouble"):
        return c.AnswerCheckIn(number, all_good=verb == "good")
    if kind == "transcript" and verb == "send":
        return c.SendTranscript(number)
    if kind == "kb":
        if verb == "solved":
            return c.SolvedBySuggestion(number)
        if verb == "help":
            return c.StillNeedHelp(number)
    if kind == "csat":
        if verb == "help":
            return c.RateTicket(number, None)
        # "This solved it" as articles were first offered, on the survey's route: those
        # buttons sit in customers' DMs long after a deploy, so the id keeps its meaning
        if verb == "0":
            return c.SolvedBySuggestion(number)
        if verb.isdigit():
            return c.RateTicket(number, int(verb))
    raise UnknownButton(button_id)
