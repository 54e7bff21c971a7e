"""JSON webhooks, HMAC-SHA256 signed, through urllib with a timeout.

Headers: X-Nyiops-Timestamp (unix seconds), X-Nyiops-Signature ("sha256=" + hex HMAC of
"<timestamp>.<body>" under the channel secret) and X-Nyiops-Delivery (stable across retries,
so a receiver can drop duplicates). 5xx, 429, timeouts and connection errors are transient;
other 4xx are permanent.

`timeout` bounds each socket operation, and a watchdog bounds the whole exchange to
TOTAL_FACTOR x timeout: a receiver that drips its answer a byte at a time must not hold a
notify thread (the threads pool cannot interrupt it: docs/reliability.md, A7)."""

import contextlib
import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request

from alerts.channels.base import Message, TransportError

TIMEOUT_SECONDS = 5.0
TOTAL_FACTOR = 2


def _with_watchdog(base: type[http.client.HTTPConnection], total: float, fired, timers: list):
    class Connection(base):
        def connect(self):
            super().connect()
            sock = self.sock

            def expire():
                fired.set()
                with contextlib.suppress(OSError):  # wakes a recv blocked on the socket
                    sock.shutdown(socket.SHUT_RDWR)

            timer = threading.Timer(total, expire)
            timer.daemon = True
            timers.append(timer)
            timer.start()

    return Connection


def _opener(total: float, fired: threading.Event, timers: list) -> urllib.request.OpenerDirector:
    http_class = _with_watchdog(http.client.HTTPConnection, total, fired, timers)
    https_class = _with_watchdog(http.client.HTTPSConnection, total, fired, timers)

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(http_class, req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(https_class, req)

    return urllib.request.build_opener(HTTP, HTTPS)


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
    fired, timers = threading.Event(), []
    total = timeout * TOTAL_FACTOR
    try:
        with _opener(total, fired, timers).open(request, timeout=timeout) as response:
            response.read(65536)
            if fired.is_set():
                raise TimeoutError
            return response.status
    except urllib.error.HTTPError as exc:
        transient = exc.code >= 500 or exc.code == 429
        raise TransportError(
            f"HTTP {exc.code} from webhook", permanent=not transient, status_code=exc.code
        ) from exc
    except TimeoutError as exc:
        if fired.is_set():
            raise TransportError(f"webhook answer not complete within {total:g} s") from exc
        raise TransportError(f"webhook timed out after {timeout:g} s") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            raise TransportError(f"webhook timed out after {timeout:g} s") from exc
        raise TransportError(f"webhook unreachable: {reason}"[:300]) from exc
    except (OSError, http.client.HTTPException) as exc:
        if fired.is_set():
            raise TransportError(f"webhook answer not complete within {total:g} s") from exc
        raise TransportError(f"webhook connection failed: {exc}"[:300]) from exc
    finally:
        for timer in timers:
            timer.cancel()
