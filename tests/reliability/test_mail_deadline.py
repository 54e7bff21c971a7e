"""A7 for email: an SMTP server that answers a byte at a time cannot hold a notify thread
past EMAIL_TOTAL_TIMEOUT, although each byte comes well within the socket timeout."""

import os
import smtplib
import socket
import subprocess
import sys
import threading

import pytest
from django.core.mail import EmailMessage

from nyiops.mail import DeadlineEmailBackend


class DrippingSMTPServer:
    """Greets with a banner sent one byte every 50 ms (bounded: 20 s at most)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            try:
                for byte in b"220 " + b"x" * 396 + b"\r\n":
                    conn.sendall(bytes([byte]))
                    threading.Event().wait(0.05)
            except OSError:
                return

    def close(self):
        self.server.close()


@pytest.fixture
def dripping():
    server = DrippingSMTPServer()
    yield server
    server.close()


def test_smtp_conversation_is_cut_off_at_the_total_deadline(dripping, settings):
    settings.EMAIL_TOTAL_TIMEOUT = 0.5
    backend = DeadlineEmailBackend(host="127.0.0.1", port=dripping.port, timeout=5)
    message = EmailMessage("s", "b", "nyiops@localhost", ["oncall@example.test"])

    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
        backend.send_messages([message])

    backend.close()
    assert backend._timers == []  # nothing left armed


def test_production_mail_goes_through_the_deadline_backend(tmp_path):
    """Production settings, loaded in a fresh interpreter as a deployment would."""
    from tests.test_settings import ROOT, _production_env

    env = {k: v for k, v in os.environ.items() if k != "EMAIL_BACKEND"}
    env |= _production_env() | {"NYIOPS_VAR_DIR": str(tmp_path / "var")}
    env["DJANGO_SETTINGS_MODULE"] = "nyiops.settings"
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.EMAIL_BACKEND, s.EMAIL_TIMEOUT, s.EMAIL_TOTAL_TIMEOUT)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["nyiops.mail.DeadlineEmailBackend", "10", "15"]
