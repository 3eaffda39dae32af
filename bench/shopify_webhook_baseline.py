"""The Shopify webhook benchmark's baseline: an ASGI app on uvicorn that only reads the body,
checks its X-Shopify-Hmac-Sha256 in constant time and answers 200 — no database. What any
verifying receiver on this machine and server stack pays before storing anything.

    .venv/bin/python bench/shopify_webhook_baseline.py --port 9000 --secret S
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
from typing import Any

import uvicorn


def app_for(secret: bytes) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        given = dict(scope["headers"]).get(b"x-shopify-hmac-sha256", b"")
        expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
        status = 200 if hmac.compare_digest(given, expected) else 401
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b'{"success":true}'})

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    uvicorn.run(app_for(args.secret.encode()), host="127.0.0.1", port=args.port,
                log_level="warning")  # fmt: skip
