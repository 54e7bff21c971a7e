"""The key-material filter guards the worker's logs too, tracebacks included (RELIABILITY B7)."""

import logging

import pytest
from celery.app.log import Logging
from celery.utils.log import get_task_logger

from nyiops.celery import app as celery_app
from nyiops.logging import KeyMaterialFilter

KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----"
)
KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"


@pytest.fixture
def worker_logging(tmp_path):
    """Logging set up exactly as `celery worker --logfile` sets it up; restored afterwards."""
    root = logging.getLogger()
    task_root = logging.getLogger("celery.task")
    saved = (root.handlers[:], root.level, task_root.handlers[:], task_root.propagate)
    logfile = tmp_path / "worker.log"
    Logging._setup = False
    celery_app.log.setup_logging_subsystem(loglevel="INFO", logfile=str(logfile))
    yield logfile
    for logger in (root, task_root):
        for handler in logger.handlers:
            handler.close()
    root.handlers, root.level, task_root.handlers, task_root.propagate = saved
    Logging._setup = False


def _raise_with_key():
    raise ValueError(f"could not load {KEY}")


def test_worker_log_handlers_carry_the_key_material_filter(worker_logging):
    handlers = [
        h
        for name in ("", "celery.task")
        for h in logging.getLogger(name).handlers
        if isinstance(h, logging.FileHandler)  # pytest adds its own capture handlers
    ]

    assert len(handlers) == 2
    assert all(any(isinstance(f, KeyMaterialFilter) for f in h.filters) for h in handlers)


@pytest.mark.parametrize("logger_name", ["", "hosts.tasks"])
def test_worker_traceback_with_a_private_key_is_redacted_keeping_the_frames(
    worker_logging, logger_name
):
    logger = get_task_logger(logger_name) if logger_name else logging.getLogger()
    try:
        _raise_with_key()
    except ValueError:
        logger.exception("poll failed")

    text = worker_logging.read_text()
    assert "poll failed" in text
    assert "_raise_with_key" in text  # the frames an engineer needs are kept
    assert "PRIVATE KEY" not in text and KEY_BODY not in text
    assert "[key material redacted]" in text


def test_worker_message_with_a_fernet_token_is_dropped(worker_logging):
    logging.getLogger("alerts.paging").warning("secret was %s", "gAAAAABn" + "x" * 40)

    text = worker_logging.read_text()
    assert "gAAAAA" not in text and "dropped: it contained key material" in text
