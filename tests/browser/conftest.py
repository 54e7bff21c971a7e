"""Headless Chromium (Debian's package) driven by Playwright against pytest-django's live
server. Without Chromium the browser tests skip with the install command, except under CI,
where they must run."""

import os
import re
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

from customers.twofactor import requires_two_factor
from tests.otp import current_code, totp_device

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL = "apt-get update && apt-get install -y chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


@pytest.fixture
def chromium(monkeypatch):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Chromium at {CHROMIUM}: {INSTALL}")
        pytest.skip(f"Chromium is not installed at {CHROMIUM}; install it with: {INSTALL}")
    # Playwright's sync API keeps an event loop in this thread, which would make Django refuse
    # the test's own (synchronous) database calls; nothing here is really async.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()
        # While that loop runs, Django keeps this thread's database connections apart from
        # its usual ones (asgiref's thread-critical Local acts as a context variable when
        # an event loop runs), so pytest-django never sees or closes the one the test used:
        # it stayed open after the tests, and the test database could not be dropped.
        # Closed here, while the loop still runs and they are visible.
        connections.close_all()


@pytest.fixture
def artifacts(request):
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browse(chromium, live_server):
    """browse(user, viewport=..., js=True) -> (page, console errors) logged in as `user`."""
    contexts = []

    def open_as(user, *, width=1400, height=1000, js=True):
        context = chromium.new_context(
            viewport={"width": width, "height": height}, java_script_enabled=js
        )
        contexts.append(context)
        if requires_two_factor(user):
            totp_device(user)
        page = context.new_page()
        page.set_default_timeout(15000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if "/account/2fa/verify/" in page.url:  # staff: the second factor, as a person would
            page.fill("#id_token", current_code(totp_device(user)))
            page.click("main button[type=submit]")  # not the header's "Log out"
            page.wait_for_load_state()
        return page, errors

    yield open_as
    for context in contexts:
        context.close()
