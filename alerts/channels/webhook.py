"""JSON webhooks, HMAC-SHA256 signed, through urllib with a timeout.

Headers: X-Nyiops-Timestamp (unix seconds), X-Nyiops-Signature ("sha256=" + hex HMAC of
"<timestamp>.<body>" under the channel secret) and X-Nyiops-Delivery (stable across retries,
so a receiver can drop duplicates). 5xx, 429, timeouts and connection errors are transient;
other 4xx are permanent."""

import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.request

from alerts.channels.base import Message, TransportError

TIMEOUT_SECONDS = 5.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def send(channel, message: Message, *, timeout: float | None = None) -> int:
    timeout = timeout or TIMEOUT_SECONDS
    if not channel.url.startswith(("http://", "https://")):
        raise TransportError("webhook URL must be http(s)", permanent=True)
    body = json.dumps(message.payload, sort_keys=True, default=str).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        channel.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "nyiops-alerts",
            "X-Nyiops-Timestamp": timestamp,
            "X-Nyiops-Signature": signature(channel.secret or "", timestamp, body),
            "X-Nyiops-Delivery": message.idempotency_key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read(65536)
            return response.status
    except urllib.error.HTTPError as exc:
        transient = exc.code >= 500 or exc.code == 429
        raise TransportError(
            f"HTTP {exc.code} from webhook", permanent=not transient, status_code=exc.code
        ) from exc
    except TimeoutError as exc:
        raise TransportError(f"webhook timed out after {timeout:g} s") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            raise TransportError(f"webhook timed out after {timeout:g} s") from exc
        raise TransportError(f"webhook unreachable: {reason}"[:300]) from exc
    except OSError as exc:
        raise TransportError(f"webhook connection failed: {exc}"[:300]) from exc
