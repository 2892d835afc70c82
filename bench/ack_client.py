"""The load side of bench/slack_ack.py, in a process of its own (as Slack is), so the desk's
work on the server's event loop cannot delay the clock that times the acknowledgements.

Reads {"url", "secret", "requests": [[body, content type], ...], "gap_ms"} as JSON on
standard input; prints the latencies in milliseconds as a JSON list."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import time

import aiohttp


def _signed(body: str, secret: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


async def measure(url: str, secret: str, requests: list[list[str]], gap_ms: float) -> list[float]:
    out = []
    async with aiohttp.ClientSession() as http:
        for body, content_type in requests:
            headers = {"Content-Type": content_type, **_signed(body, secret)}
            start = time.perf_counter()
            async with http.post(url, data=body.encode(), headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"HTTP {response.status} from {url}")
            out.append((time.perf_counter() - start) * 1000)
            # one request at a time, as a desk sees them: the work after the previous
            # acknowledgement is done before the next request comes in
            await asyncio.sleep(gap_ms / 1000)
    return out


if __name__ == "__main__":
    job = json.load(sys.stdin)
    latencies = asyncio.run(measure(job["url"], job["secret"], job["requests"], job["gap_ms"]))
    print(json.dumps(latencies))
