"""One command language for every adapter: `/ticket <subcommand> ...` text -> a command."""

from __future__ import annotations

import difflib
import re
from typing import Any

from bot import commands as c
from bot.durations import BadDuration, parse_duration
from bot.model import Priority, Refusal
from bot.tags import TAG_CHARS, BadTag, normalise

USAGE: dict[str, str] = {
    "claim": "/ticket claim [#N]",
    "assign": "/ticket assign [#N] @agent",
    "escalate": "/ticket escalate [#N] <team> [reason]",
    "close": "/ticket close [#N] [resolution]",
    "reopen": "/ticket reopen [#N] [reason]",
    "note": "/ticket note [#N] <text>",
    "priority": "/ticket priority [#N] <urgent|high|normal|low>",
    "followup": "/ticket followup [#N] in <duration> [note]",
    "followups": "/ticket followups",
    "digest": "/ticket digest",
    "list": "/ticket list [mine|open|unclaimed|escalated|closed|all]",
    "show": "/ticket show #N",
    "block": "/ticket block [#N|@customer] [duration] [reason]",
    "unblock": "/ticket unblock [#N|@customer]",
    "blocked": "/ticket blocked",
    "transcript": "/ticket transcript [#N]",
    "send": "/ticket send <saved reply> [#N]",
    "areply": "/ticket areply [#N] <text>",
    "snippet": "/ticket snippet add <name> [--locale ja] <text> | list | remove <name>",
    "duty": "/ticket duty [on [team...]|off]",
    "tag": "/ticket tag [#N] <tag>...",
    "untag": "/ticket untag [#N] <tag>...",
    "similar": "/ticket similar [#N]",
    "kb": "/ticket kb [search] [#N] <question> | kb send <article> [#N]",
    "help": "/ticket help",
}
LIST_FILTERS = ("mine", "open", "unclaimed", "escalated", "closed", "all")
_NUMBER = re.compile(r"^#(\d{1,9})$")
SNIPPET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ARTICLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # a file's stem (bot.knowledge)
_PREFIX = re.compile(r"^\s*/?ticket\b", re.IGNORECASE)
# "/help", "/tickets list": a command, typed; "/var/log is full" or " /help" is a message
_SLASH_WORD = re.compile(r"^/[^\W\d_][\w-]*(\s|$)")


class UsageError(Refusal):
    """The text is not a valid command: a refusal whose text shows the command's usage."""

    def __init__(self, key: str, usage: str = "", **params: Any) -> None:
        super().__init__(key, usage=usage, **params)
        self.usage = usage


def is_command(text: str) -> bool:
    return bool(_PREFIX.match(text))


def looks_like_command(text: str) -> bool:
    """A slash and a word at the very start: meant for the bot, never for a customer's
    eyes. A path (`/var/log`) is not one, and a leading space sends the text as it is."""
    return bool(_SLASH_WORD.match(text))


def guess(text: str) -> str:
    """The `/ticket ...` command a mistyped one most likely meant ("" when none is close):
    `/tickets list` and `/tciket list` mean `/ticket list`, `/help` means `/ticket help`."""
    words = text.strip().lstrip("/").lower().split()
    if not words:
        return ""
    if difflib.get_close_matches(words[0], ["ticket"], n=1, cutoff=0.6):
        words = words[1:] or ["help"]
    verb = _closest_verb(words[0])
    return f"/ticket {verb}" if verb else ""


def _closest_verb(word: str) -> str:
    if word in USAGE:
        return word
    found = difflib.get_close_matches(word, list(USAGE), n=1, cutoff=0.6)
    return found[0] if found else ""


def parse(text: str) -> c.StaffCommand:
    """Parse `/ticket claim #4`, `ticket claim #4` or `claim #4` (Slack passes no prefix)."""
    body = _PREFIX.sub("", text, count=1).strip()
    if not body:
        return c.Help()
    verb, _, rest = body.partition(" ")
    verb = verb.lower()
    if verb not in USAGE:
        meant = _closest_verb(verb)
        raise UsageError(
            "unknown_subcommand",
            USAGE["help"],
            subcommand=verb,
            guess=f"/ticket {meant}" if meant else "",
        )
    usage = USAGE[verb]
    number, rest = _take_number(rest.strip(), accept_bare=(verb == "show"))
    if verb == "claim":
        _no_more(rest, usage)
        return c.ClaimTicket(number)
    if verb == "assign":
        agent, _, extra = rest.partition(" ")
        if not agent:
            raise UsageError("missing_argument", usage, argument="@agent")
        _no_more(extra, usage)
        return c.AssignTicket(agent=agent, number=number)
    if verb == "escalate":
        team, _, reason = rest.partition(" ")
        if not team:
            raise UsageError("missing_argument", usage, argument="team")
        return c.EscalateTicket(team=team.lower(), reason=reason.strip(), number=number)
    if verb == "close":
        return c.CloseTicket(resolution=rest, number=number)
    if verb == "reopen":
        return c.ReopenTicket(reason=rest, number=number)
    if verb == "note":
        if not rest:
            raise UsageError("missing_argument", usage, argument="text")
        return c.AddNote(text=rest, number=number)
    if verb == "priority":
        word = rest.lower()
        if not word:
            raise UsageError("missing_argument", usage, argument="priority")
        try:
            return c.SetPriority(priority=Priority(word), number=number)
        except ValueError:
            raise UsageError("bad_priority", usage, value=rest) from None
    if verb == "followup":
        return _followup(rest, number, usage)
    if verb == "list":
        word = rest.lower() or "open"
        if word not in LIST_FILTERS or number is not None:
            raise UsageError("bad_list_filter", usage, value=rest)
        return c.ListTickets(filter=word)
    if verb == "show":
        _no_more(rest, usage)
        return c.ShowTicket(number)
    if verb == "duty":
        _no_more("" if number is None else f"#{number}", usage)
        word, _, teams = rest.partition(" ")
        word = word.lower()
        if not word:
            return c.ShowDuty()
        if word not in ("on", "off") or (word == "off" and teams.strip()):
            raise UsageError("unexpected_argument", usage, value=rest)
        return c.SetDuty(word == "on", tuple(dict.fromkeys(teams.lower().split())))
    if verb == "send":
        name, _, tail = rest.partition(" ")
        if number is None:  # `/ticket send refund #4` as well as `/ticket send #4 refund`
            number, tail = _take_number(tail.strip(), accept_bare=False)
        _no_more(tail.strip(), usage)
        return c.SendSnippet(_snippet_name(name, usage), number)
    if verb == "areply":
        if not rest:
            raise UsageError("missing_argument", usage, argument="text")
        return c.ReplyAsTeam(rest, number)
    if verb == "snippet":
        return _snippet(rest if number is None else f"#{number} {rest}", usage)
    if verb in ("tag", "untag"):
        return _tags(verb, rest, number, usage)
    if verb == "transcript":
        _no_more(rest, usage)
        return c.PostTranscript(number)
    if verb in ("block", "unblock"):
        return _block(verb, rest, number, usage)
    if verb == "kb":
        return _kb(rest, number, usage)
    if verb == "similar":
        _no_more(rest, usage)
        return c.ShowSimilar(number)
    if verb in ("followups", "digest", "blocked"):
        _no_more(rest if number is None else f"#{number} {rest}".strip(), usage)
        if verb == "blocked":
            return c.ListBlocked()
        return c.ListFollowUps() if verb == "followups" else c.ShowDigest()
    _no_more(rest, usage)
    return c.Help()


def _take_number(rest: str, accept_bare: bool) -> tuple[int | None, str]:
    head, _, tail = rest.partition(" ")
    match = _NUMBER.match(head)
    if match:
        return int(match.group(1)), tail.strip()
    if accept_bare and head.isdigit():
        return int(head), tail.strip()
    return None, rest


def _no_more(rest: str, usage: str) -> None:
    if rest:
        raise UsageError("unexpected_argument", usage, value=rest)


def _block(
    verb: str, rest: str, number: int | None, usage: str
) -> c.BlockCustomer | c.UnblockCustomer:
    customer = ""
    head, _, tail = rest.partition(" ")
    if head.startswith(("@", "<@")):  # a mention: the shell's @name, Slack's and Discord's <@id>
        if number is not None:
            raise UsageError("unexpected_argument", usage, value=head)
        customer, rest = head, tail.strip()
    if verb == "unblock":
        _no_more(rest, usage)
        return c.UnblockCustomer(customer, number)
    word, _, reason = rest.partition(" ")
    try:
        duration = parse_duration(word) if word and word[0].isdigit() else None
    except BadDuration:
        raise UsageError("bad_duration", usage, value=word) from None
    if duration is None:
        reason = rest
    return c.BlockCustomer(customer, number, duration, reason.strip())


def _kb(rest: str, number: int | None, usage: str) -> c.SearchArticles | c.SendArticle:
    """`kb send <article> [#N]` (the number may come anywhere), else a search: `kb
    [search] <question>`; "search" says that a question starting with "send" is one."""
    action, _, tail = rest.partition(" ")
    if action.lower() == "send":
        if number is None:
            number, tail = _take_number(tail.strip(), accept_bare=False)
        article, _, tail = tail.strip().partition(" ")
        if number is None:
            number, tail = _take_number(tail.strip(), accept_bare=False)
        if not article:
            raise UsageError("missing_argument", usage, argument="<article>")
        if not ARTICLE_ID.match(article):
            raise UsageError("bad_article_id", usage, value=article)
        _no_more(tail.strip(), usage)
        return c.SendArticle(article, number)
    if action.lower() == "search":
        rest = tail.strip()
        if number is None:
            number, rest = _take_number(rest, accept_bare=False)
    if not rest:
        raise UsageError("missing_argument", usage, argument="<question>")
    return c.SearchArticles(rest, number)


def _snippet_name(word: str, usage: str) -> str:
    if not word:
        raise UsageError("missing_argument", usage, argument="<name>")
    name = word.lower()
    if not SNIPPET_NAME.match(name):
        raise UsageError("bad_snippet_name", usage, value=word)
    return name


def _snippet(rest: str, usage: str) -> c.AddSnippet | c.RemoveSnippet | c.ListSnippets:
    action, _, rest = rest.partition(" ")
    action = action.lower()
    if action == "list":
        _no_more(rest.strip(), usage)
        return c.ListSnippets()
    name, _, rest = rest.strip().partition(" ")
    name = _snippet_name(name, usage)
    if action == "remove":
        _no_more(rest.strip(), usage)
        return c.RemoveSnippet(name)
    if action != "add":
        raise UsageError("unexpected_argument", usage, value=action or "")
    locale, rest = "en", rest.strip()
    if rest.startswith("--locale"):
        _, _, rest = rest.partition(" ")
        locale, _, rest = rest.strip().partition(" ")
        locale, rest = locale.lower(), rest.strip()
    if not rest:
        raise UsageError("missing_argument", usage, argument="<text>")
    return c.AddSnippet(name, rest, locale)


def _tags(verb: str, rest: str, number: int | None, usage: str) -> c.TagTicket | c.UntagTicket:
    if not rest:
        raise UsageError("missing_argument", usage, argument="<tag>")
    try:
        tags = tuple(dict.fromkeys(normalise(word) for word in rest.split()))
    except BadTag as bad:
        raise UsageError(f"tag_{bad.reason}", usage, value=bad.tag, limit=TAG_CHARS) from None
    return c.TagTicket(tags, number) if verb == "tag" else c.UntagTicket(tags, number)


def _followup(rest: str, number: int | None, usage: str) -> c.ScheduleFollowUp:
    word, _, rest = rest.partition(" ")
    if word.lower() != "in":
        raise UsageError("missing_argument", usage, argument="in <duration>")
    duration, _, note = rest.strip().partition(" ")
    if not duration:
        raise UsageError("missing_argument", usage, argument="<duration>")
    if duration.startswith("-"):
        raise UsageError("followup_in_past", usage, value=duration)
    try:
        delay = parse_duration(duration)
    except BadDuration:
        raise UsageError("bad_duration", usage, value=duration) from None
    return c.ScheduleFollowUp(delay=delay, note=note.strip(), number=number)
