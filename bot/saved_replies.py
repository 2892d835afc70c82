"""Saved replies' rules: their names, the placeholders a text may hold and how they are
filled, and the `[snippets.<name>]` tables of the configuration file."""

from __future__ import annotations

import re
from typing import Any

from bot.parser import SNIPPET_NAME
from bot.rendering import available_locales

NAME = SNIPPET_NAME  # one lower-case word: `!refund` in a thread sends it
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
FILLED = ("customer", "agent", "number")


def unknown_placeholders(text: str) -> list[str]:
    return [name for name in _PLACEHOLDER.findall(text) if name not in FILLED]


def fill(text: str, **values: str) -> str:
    """One pass over the saved reply's own text: what a value holds (a customer named
    `{{ 7*7 }}`) is never read as a placeholder or a template."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


class SnippetConfigError(ValueError):
    """What is wrong with one saved reply, said so that the operator can fix the file."""


def snippets_from(table: Any) -> dict[str, dict[str, str]]:
    if not isinstance(table, dict):
        raise SnippetConfigError("[snippets] must be a table of [snippets.<name>] tables")
    locales = available_locales()
    found: dict[str, dict[str, str]] = {}
    for name, texts in table.items():
        key = f"snippets.{name}"
        if not NAME.match(str(name)):
            raise SnippetConfigError(
                f"{key}: a name is one lower-case word of up to 40 letters, digits, - and _"
            )
        if not isinstance(texts, dict) or not texts:
            raise SnippetConfigError(f'{key} must give a text per language, like en = "..."')
        for locale, text in texts.items():
            if locale not in locales:
                raise SnippetConfigError(f"{key}.{locale}: the languages are {', '.join(locales)}")
            if not isinstance(text, str) or not text.strip():
                raise SnippetConfigError(f"{key}.{locale} must be a text that is not empty")
            if bad := unknown_placeholders(text):
                raise SnippetConfigError(
                    f"{key}.{locale}: {{{{ {bad[0]} }}}} is not filled in; "
                    f"use {', '.join('{{ ' + f + ' }}' for f in FILLED)}"
                )
        found[str(name)] = {str(k): str(v).strip() for k, v in texts.items()}
    return found
