"""Logging helpers: the filter that keeps key material out of every log line.

It owns only redaction; where records go (handlers, formats) is settings.LOGGING. It must not
drop records silently: a record that carried a secret still says that something happened."""

import logging
import re
import traceback

# A PEM private key from its BEGIN line to its END line (or to the end of the text when the
# END line was cut off), so the base64 body never survives; and Fernet tokens (our
# ciphertext: harmless alone, but a token next to a leaked key is a leaked secret).
_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_FERNET = re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}")
DROPPED = "[log record dropped: it contained key material]"
REDACTED = "[key material redacted]"


def contains_key_material(text: str) -> bool:
    return bool(_PEM.search(text) or _FERNET.search(text))


def redact(text: str) -> str:
    return _FERNET.sub(REDACTED, _PEM.sub(REDACTED, text))


class KeyMaterialFilter(logging.Filter):
    """Scrubs private key text and Fernet tokens from a record's message, its traceback and
    its stack: a log line is the easiest place for a secret to leak (RELIABILITY.md B7).

    A message with key material is replaced whole (its arguments may hold the rest of the
    secret); a traceback keeps its frames with the key material cut out, because the frames
    are what an engineer needs at 3 a.m."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        if contains_key_material(message):
            record.msg = DROPPED
            record.args = ()
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text and contains_key_material(record.exc_text):
            record.exc_text = redact(record.exc_text)
            # Formatters rebuild the text from exc_info when they can; keep only the
            # redacted copy so no handler re-renders the original.
            record.exc_info = None
        if record.stack_info and contains_key_material(record.stack_info):
            record.stack_info = redact(record.stack_info)
        return True
