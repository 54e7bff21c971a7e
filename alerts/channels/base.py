"""What every notification channel returns or raises: TransportError (permanent or not)."""

from dataclasses import dataclass, field


class TransportError(Exception):
    """A failed delivery. `permanent` errors (bad address, 4xx) are not retried."""

    def __init__(self, message: str, *, permanent: bool = False, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status_code = status_code


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    payload: dict = field(default_factory=dict)
    idempotency_key: str = ""
