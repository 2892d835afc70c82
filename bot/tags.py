"""Tags as agents type them: `#Billing`, `billing` and `ｂｉｌｌｉｎｇ` are one tag."""

from __future__ import annotations

import re
import unicodedata

TAG_CHARS = 50
MAX_TAGS = 10  # per ticket: past this a tag stops sorting anything
_TAG = re.compile(r"^[\w-]+$")  # letters of any script, digits, _ and -


class BadTag(ValueError):
    def __init__(self, tag: str, reason: str) -> None:
        super().__init__(tag)
        self.tag = tag
        self.reason = reason  # too_long | bad_characters


def normalise(word: str) -> str:
    """The tag a word means, or BadTag saying why it cannot be one."""
    tag = unicodedata.normalize("NFKC", word).strip().lstrip("#").casefold()
    if len(tag) > TAG_CHARS:
        raise BadTag(word, "too_long")
    if not _TAG.match(tag):
        raise BadTag(word, "bad_characters")
    return tag
