"""Logging filters: no record carrying private key material or a Fernet token leaves the
process (RELIABILITY.md B7)."""

import logging
import re

_KEY_MATERIAL = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|gAAAAA[A-Za-z0-9_-]{20,}")


class KeyMaterialFilter(logging.Filter):
    """Drops any record that carries private key text or a Fernet token: a log line is the
    easiest place for a secret to leak (RELIABILITY.md B7)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        if _KEY_MATERIAL.search(message):
            record.msg = "[log record dropped: it contained key material]"
            record.args = ()
        return True
