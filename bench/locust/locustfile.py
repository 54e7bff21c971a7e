"""Locust users for RELIABILITY F1, started by bench/locust/run.py (not on their own): NOC
wallboards refreshing the overview's live partials, customers browsing their portal, and
operators draining and readying a pool member through the real plan → approve → queue path.

Each user logs in as a person would (login form, then the TOTP code for staff) with the
accounts the runner seeded, listed in the JSON file named by $NYIOPS_LOCUST_USERS. Partials
are asked for as htmx asks: `HX-Request`, the poll marker and the version the client holds,
so an unchanged widget is answered 204. At the end this file writes its own summary to
$NYIOPS_LOCUST_REPORT: response times by category (partials, pages, logins, operations),
errors, operation outcomes. It imports nothing from the project (no Django in Locust).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import re
import struct
import time
from collections import defaultdict

import gevent
from gevent.lock import Semaphore
from locust import FastHttpUser, between, constant_pacing, events, task

USERS = json.loads(open(os.environ["NYIOPS_LOCUST_USERS"]).read())  # noqa: SIM115
REPORT = os.environ.get("NYIOPS_LOCUST_REPORT", "")
WALL_PARTIALS = USERS["wall_partials"]
REFRESH_EVERY = float(USERS["refresh_every"])
HTMX = {"HX-Request": "true", "X-Nyiops-Poll": "1"}

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# A live widget's root: its URL, then (in hx-headers) the version it shows.
LIVE = re.compile(r'hx-get="([^"]+)"[^>]*?"X-Nyiops-Version": "([^"]*)"')
OP_STATE = re.compile(r'id="op-state">([^<]+)<')
PORTAL_HOST = re.compile(r'href="(/portal/hosts/\d+/)"')


def totp(key_hex: str, at: float | None = None) -> str:
    """RFC 6238 with django-otp's defaults (SHA-1, 30 s steps, 6 digits)."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


# --- what the summary is made of --------------------------------------------------------

samples: dict[str, list[float]] = defaultdict(list)  # category -> response times (ms)
errors: list[dict] = []
outcomes: dict[str, int] = defaultdict(int)  # "haproxy-drain succeeded" -> count
# Set once every user has logged in: the logins (PBKDF2 on the server) are the warm-up, and
# the measured run lasts `minutes` from then.
measuring = {"since": None, "logged_in": 0, "until": None}
MINUTES = float(USERS["minutes"])
# A password check costs ~0.5 s of CPU: two logins at a time, so a crowd of them never
# queues past gunicorn's worker timeout (30 s) on a busy machine.
LOGINS = Semaphore(2)
TOTAL_USERS = sum(
    int(os.environ.get(f"NYIOPS_LOCUST_{role}", default))
    for role, default in (("NOC", "50"), ("CUSTOMERS", "20"), ("OPERATORS", "5"))
)


def category(request_type: str, name: str) -> str:
    if request_type == "OPERATION":
        return "operations"
    return name.split(" ", 1)[0]  # "partial ...", "page ...", "login ...", "post ..."


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **_kw):
    if exception is not None:
        errors.append({"name": name, "error": str(exception)[:300], "at": time.time()})
    if measuring["since"] is not None or request_type == "OPERATION":
        samples[category(request_type, name)].append(response_time)


@events.quitting.add_listener
def _summary(environment, **_kw):
    def pct(values: list[float], p: float) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 1)

    by_category = {
        cat: {"n": len(v), "p50_ms": pct(v, 50), "p95_ms": pct(v, 95), "p99_ms": pct(v, 99)}
        for cat, v in sorted(samples.items())
    }
    stats = environment.stats
    by_name = {
        f"{e.method} {e.name}": {
            "n": e.num_requests,
            "failures": e.num_failures,
            "p50_ms": e.get_response_time_percentile(0.5),
            "p95_ms": e.get_response_time_percentile(0.95),
        }
        for e in stats.entries.values()
    }
    since = measuring["since"]
    summary = {
        "measured_from": since,
        "measured_seconds": round(time.time() - since, 1) if since else 0,
        "logged_in": measuring["logged_in"],
        "by_category": by_category,
        "by_name": by_name,
        "requests": stats.total.num_requests,
        "failures": stats.total.num_failures,
        "errors": errors[:50],
        "error_count": len(errors),
        "operations": dict(outcomes),
    }
    if REPORT:
        with open(REPORT, "w") as fh:
            json.dump(summary, fh, indent=2)


# --- users ------------------------------------------------------------------------------


class Person(FastHttpUser):
    """Logs in through the pages: the login form, then (staff) the second factor."""

    abstract = True
    role = ""
    _accounts: dict[str, itertools.count] = {}

    def on_start(self) -> None:
        accounts = USERS[self.role]
        n = next(Person._accounts.setdefault(self.role, itertools.count()))
        self.account = accounts[n % len(accounts)]
        with LOGINS:
            self.login()
        measuring["logged_in"] += 1  # one process, gevent: no lock needed
        if measuring["since"] is None and measuring["logged_in"] >= TOTAL_USERS:
            measuring["since"] = time.time()
            gevent.spawn_later(MINUTES * 60, self.environment.runner.quit)

    def csrf_of(self, html: str) -> str:
        match = CSRF.search(html)
        if not match:
            raise RuntimeError("no CSRF token in the page")
        return match.group(1)

    def post_form(self, url: str, data: dict, name: str, expect: int = 302):
        with self.client.post(
            url, data=data, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"{url}: {response.status_code}, expected {expect}")
            return response

    def login(self) -> None:
        page = self.client.get("/login/", name="login page")
        self.post_form(
            "/login/",
            {
                "username": self.account["username"],
                "password": self.account["password"],
                "csrfmiddlewaretoken": self.csrf_of(page.text),
            },
            "login post",
        )
        if self.account.get("totp_key"):
            page = self.client.get("/account/2fa/verify/", name="login 2fa page")
            code = totp(self.account["totp_key"])
            self.post_form(
                "/account/2fa/verify/",
                {"token": code, "csrfmiddlewaretoken": self.csrf_of(page.text)},
                "login 2fa post",
            )

    def refresh(self, url: str, version: str, name: str) -> str:
        """One htmx poll of a live widget; returns the version the client now holds."""
        with self.client.get(
            url, headers={**HTMX, "X-Nyiops-Version": version}, name=name, catch_response=True
        ) as response:
            if response.status_code == 204:
                return version
            if response.status_code != 200:
                response.failure(f"{url}: {response.status_code}")
                return version
            return response.headers.get("X-Nyiops-Version") or version


class NocWallboard(Person):
    """A wallboard: the overview once, then its live partials every REFRESH_EVERY seconds."""

    role = "noc"
    fixed_count = int(os.environ.get("NYIOPS_LOCUST_NOC", "50"))
    wait_time = constant_pacing(REFRESH_EVERY)

    def on_start(self) -> None:
        super().on_start()
        page = self.client.get("/hosts/?wall=1", name="page overview")
        found = {url: version for url, version in LIVE.findall(page.text)}
        self.widgets = {}
        for name in WALL_PARTIALS:
            url = f"/hosts/live/{name}/"
            if url not in found:
                raise RuntimeError(f"the overview has no live widget {url}")
            self.widgets[name] = found[url]

    @task
    def poll(self) -> None:
        for name, version in list(self.widgets.items()):
            self.widgets[name] = self.refresh(f"/hosts/live/{name}/", version, f"partial {name}")


class PortalCustomer(Person):
    """A customer looking around their portal: the page, a host, the live widgets."""

    role = "customer"
    fixed_count = int(os.environ.get("NYIOPS_LOCUST_CUSTOMERS", "20"))
    wait_time = between(2, 6)

    def on_start(self) -> None:
        super().on_start()
        self.portal()

    @task(2)
    def portal(self) -> None:
        page = self.client.get("/portal/", name="page portal")
        self.hosts = PORTAL_HOST.findall(page.text) or ["/portal/"]
        self.widgets = dict(LIVE.findall(page.text))

    @task(3)
    def host(self) -> None:
        self.client.get(random.choice(self.hosts), name="page portal host")

    @task(4)
    def widgets_refresh(self) -> None:
        for url, version in list(self.widgets.items()):
            self.widgets[url] = self.refresh(url, version, f"partial portal {url.split('/')[-2]}")

    @task(1)
    def request_form(self) -> None:
        self.client.get("/portal/requests/new/", name="page portal request form")


class Operator(Person):
    """Drains a pool member of its own load-balancer pair and readies it again, each through
    the plan form, the approve button and the operations queue, watching the progress
    partial as the operation page does (every second) until the operation ends."""

    role = "operator"
    fixed_count = int(os.environ.get("NYIOPS_LOCUST_OPERATORS", "5"))
    wait_time = between(2, 5)

    @task
    def drain_and_ready(self) -> None:
        for kind in ("haproxy-drain", "haproxy-undrain"):
            if not self.run_operation(kind):
                return

    def run_operation(self, kind: str) -> bool:
        target = self.account["target"]
        query = f"kind={kind}&target={target['server']}&p_cluster={target['cluster']}"
        form = self.client.get(f"/operations/new/?{query}", name="page operation plan")
        planned = self.post_form(
            "/operations/new/",
            {
                "kind": kind,
                "target": target["server"],
                "p_cluster": target["cluster"],
                "reason": "F1 load test",
                "csrfmiddlewaretoken": self.csrf_of(form.text),
            },
            f"post plan {kind}",
        )
        location = planned.headers.get("Location", "")
        match = re.search(r"/operations/(\d+)/$", location)
        if not match:
            outcomes[f"{kind} refused at plan"] += 1
            return False
        pk = match.group(1)
        detail = self.client.get(f"/operations/{pk}/", name="page operation")
        started = time.monotonic()
        self.post_form(
            f"/operations/{pk}/approve/",
            {"csrfmiddlewaretoken": self.csrf_of(detail.text)},
            f"post approve {kind}",
        )
        state, version = "", ""
        deadline = started + float(USERS["operation_timeout"])
        while time.monotonic() < deadline:
            with self.client.get(
                f"/operations/{pk}/live/",
                headers={**HTMX, "X-Nyiops-Version": version},
                name="partial operation progress",
                catch_response=True,
            ) as response:
                if response.status_code == 200:
                    found = OP_STATE.search(response.text)
                    state = found.group(1) if found else state
                    header = LIVE.search(response.text)
                    if header is None:  # no poll attributes: the operation has ended
                        break
                    version = header.group(2)
                elif response.status_code != 204:
                    response.failure(f"progress: {response.status_code}")
            time.sleep(1)
        elapsed_ms = (time.monotonic() - started) * 1000
        ok = state == "Succeeded"
        outcomes[f"{kind} {state or 'unknown'}"] += 1
        events.request.fire(
            request_type="OPERATION",
            name=kind,
            response_time=elapsed_ms,
            response_length=0,
            exception=None if ok else RuntimeError(f"operation {pk} ended {state or 'unfinished'}"),
            context={},
        )
        return ok
