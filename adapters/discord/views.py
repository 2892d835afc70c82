"""Buttons for cards and surveys."""

from __future__ import annotations

import discord

from bot.model import Action


def buttons(actions: list[Action]) -> discord.ui.View:
    """The card's or the survey's buttons; ids only, so they outlive a restart."""
    view = discord.ui.View(timeout=None)
    styles = {"primary": discord.ButtonStyle.primary, "danger": discord.ButtonStyle.danger}
    for action in actions[:25]:
        view.add_item(
            discord.ui.Button(
                label=action.label[:80],
                custom_id=action.id,
                style=styles.get(action.style, discord.ButtonStyle.secondary),
            )
        )
    return view
