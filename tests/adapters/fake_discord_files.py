"""Files in the fake Discord, as Discord's multipart Create Message has them: the JSON in the
`payload_json` field, each file in a `files[n]` field that `attachments[].id` n names (and
names). A kept file is an attachment of its message (id, filename, size, url, proxy_url,
content_type). At most 10 files a message, each within the upload limit (10 MiB for a bot
where no boost raises it); past those Discord answers 400 (50035) and 413 (40005)."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

MAX_FILES = 10  # attachments a message
UPLOAD_LIMIT = 10 * 1024 * 1024  # bytes a file


@dataclass
class Upload:
    """A file as it came in a request, and (once kept) the message it is attached to."""

    filename: str
    content: bytes
    channel: str = ""
    message_id: str = ""
    attachment_id: str = ""

    @property
    def text(self) -> str:
        return self.content.decode()

    def attached(self, message: dict[str, Any], attachment_id: int) -> dict[str, Any]:
        """Attach it to `message`: the attachment object, as Discord returns it."""
        self.channel, self.message_id = str(message["channel_id"]), str(message["id"])
        self.attachment_id = str(attachment_id)
        url = f"{self.channel}/{self.attachment_id}/{self.filename}"
        return {
            "id": self.attachment_id,
            "filename": self.filename,
            "size": len(self.content),
            "url": f"https://cdn.discordapp.com/attachments/{url}",
            "proxy_url": f"https://media.discordapp.net/attachments/{url}",
            "content_type": mimetypes.guess_type(self.filename)[0] or "application/octet-stream",
        }


def read_files(form: Mapping[str, Any], payload: dict[str, Any]) -> list[Upload]:
    """The `files[n]` fields, in order, named as `attachments` says (else by their own name)."""
    named = {
        str(a.get("id")): str(a.get("filename", ""))
        for a in payload.get("attachments") or []
        if isinstance(a, dict)
    }
    found: list[tuple[int, Upload]] = []
    for key, value in form.items():
        if key.startswith("files[") and key.endswith("]") and isinstance(value, web.FileField):
            index = key[len("files[") : -1]
            found.append(
                (int(index), Upload(named.get(index) or value.filename, value.file.read()))
            )
    return [upload for _, upload in sorted(found, key=lambda item: item[0])]


def refusal(files: Sequence[Upload], limit: int) -> tuple[int, dict[str, Any]] | None:
    """Discord's answer to files it will not take (status, body); None when it takes them."""
    if len(files) > MAX_FILES:
        errors = [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {MAX_FILES} or fewer."}]
        body = {"message": "Invalid Form Body", "code": 50035, "errors": {"files": errors}}
        return 400, body
    if any(len(f.content) > limit for f in files):
        return 413, {"message": "Request entity too large", "code": 40005}
    return None
