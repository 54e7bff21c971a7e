"""SMTP with a deadline for the whole conversation (RELIABILITY A7).

Django's SMTP backend passes EMAIL_TIMEOUT to smtplib, which bounds each socket operation
only: a server that answers a byte at a time keeps a notify thread for as long as it likes,
and the worker's threads pool cannot interrupt it. This backend arms a watchdog when the
socket opens and shuts the socket down after EMAIL_TOTAL_TIMEOUT; the blocked read then
fails like a dropped connection (SMTPServerDisconnected), which callers already treat as a
transient error. It owns nothing else: messages, TLS and auth are Django's."""

import contextlib
import smtplib
import socket
import threading

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend


def _with_watchdog(base: type[smtplib.SMTP], total: float, timers: list) -> type[smtplib.SMTP]:
    class SMTP(base):
        def _get_socket(self, host, port, timeout):
            sock = super()._get_socket(host, port, timeout)

            def expire():
                with contextlib.suppress(OSError):  # wakes a recv blocked on the socket
                    sock.shutdown(socket.SHUT_RDWR)

            timer = threading.Timer(total, expire)
            timer.daemon = True
            timers.append(timer)
            timer.start()
            return sock

    return SMTP


class DeadlineEmailBackend(EmailBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._timers: list[threading.Timer] = []

    @property
    def connection_class(self):
        base = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
        return _with_watchdog(base, settings.EMAIL_TOTAL_TIMEOUT, self._timers)

    def close(self):
        try:
            super().close()
        finally:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
