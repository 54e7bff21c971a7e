"""nyiops settings: one module, read from the environment.

With nothing set, the demo runs on SQLite (WAL) and a server-less Celery broker (kombu's
filesystem transport), both under var/. NYIOPS_ENV=production turns the defaults strict:
SECRET_KEY and NYIOPS_SECRET_KEYS must come from the environment (or *_FILE), and the
security headers and secure cookies that `check --deploy` asks for are on.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.FileAwareEnv()
NYIOPS_ENV = env.str("NYIOPS_ENV", default="development")
if NYIOPS_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"NYIOPS_ENV must be development or production, not {NYIOPS_ENV!r}")
PRODUCTION = NYIOPS_ENV == "production"

VAR_DIR = Path(env.str("NYIOPS_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _generated_secret(name: str, make) -> str:
    """A development secret made once into var/ (mode 0600), so restarts keep sessions and
    encrypted rows readable. Production never gets here: it must set the variable."""
    path = VAR_DIR / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = make()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process (web vs worker) made it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(value)
        return value


def _required_in_production(name: str, make) -> str:
    if name in os.environ or f"{name}_FILE" in os.environ:
        return env.str(name)
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"{name} (or {name}_FILE) must be set when NYIOPS_ENV=production"
        )
    return _generated_secret(name.lower(), make)


_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def strict_bool(name: str, default: bool) -> bool:
    """A boolean setting that refuses anything but a clear yes or no: `DEBUG=Ture` stops the
    start-up instead of silently meaning False (django-environ's reading)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false (or 1/0)")


def _fernet_keys(raw: str) -> list[str]:
    """Validate every key now, so a malformed one stops the start-up rather than the first
    poll that needs a private key."""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured("NYIOPS_SECRET_KEYS is empty: secrets cannot be encrypted")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured(
                f"NYIOPS_SECRET_KEYS key #{position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes, e.g. from Fernet.generate_key())"
            ) from None
    return keys


SECRET_KEY = _required_in_production("SECRET_KEY", lambda: secrets.token_urlsafe(64))
# Old signing keys still accepted (sessions, ack links, password-reset tokens) while a new
# SECRET_KEY rolls out; comma-separated, newest first. See docs/security.md, key rotation.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# Fernet keys for secrets at rest (SSH private keys, webhook tokens). A comma-separated list:
# the first encrypts, all decrypt, so a key can be rotated without re-encrypting at once;
# `manage.py rotate_keys` then re-encrypts every stored secret under the first.
NYIOPS_SECRET_KEYS = _fernet_keys(
    _required_in_production("NYIOPS_SECRET_KEYS", lambda: Fernet.generate_key().decode())
)

DEBUG = strict_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION:
    # The container's own health probe (docker-compose healthcheck) asks for
    # http://127.0.0.1:8000/healthz whatever name the site is served under; a loopback Host
    # reaches nothing a remote client could abuse (no links are built from it).
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "127.0.0.1", "localhost"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "nyiops.apps.NyiopsConfig",
    "audit",
    "customers",
    "hosts",
    "alerts",
    "operations",
    "portal",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "api",
]

MIDDLEWARE = [
    "nyiops.outage.DatabaseUnavailableMiddleware",  # a clean 503 while the database is gone
    # Next (outage handling stays outermost), so every log line and audit row of the request
    # carries its id.
    "nyiops.requestid.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "nyiops.twofactor.OTPMiddleware",  # django-otp's, reading the device as plain SQL
    "nyiops.idle.IdleTimeoutMiddleware",
    "nyiops.twofactor.RequireVerifiedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into the 429 page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first, so a locked-out username/IP pair is refused before the password is
# even checked (RELIABILITY.md D6, §3.3).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the user's role groups with the user (nyiops.roles).
    "nyiops.roles.RolesBackend",
]

ROOT_URLCONF = "nyiops.urls"
WSGI_APPLICATION = "nyiops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "customers.context_processors.roles",
            ],
        },
    },
]

# Databases: DATABASE_URL (PostgreSQL in CI and production), else SQLite in var/ with WAL
# so the web process and the worker can read while one writes.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if "DATABASE_URL" in os.environ:
    DATABASES = {"default": env.db("DATABASE_URL")}
    _default = DATABASES["default"]
    if _default["ENGINE"].endswith("sqlite3"):
        _default["OPTIONS"] = {**SQLITE_OPTIONS, **_default.get("OPTIONS", {})}
    else:
        _default.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)  # libpq's
        _default["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
        _default["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "nyiops.sqlite3",
            "OPTIONS": SQLITE_OPTIONS,
            # A file, not memory, so tests can share it with a worker subprocess.
            "TEST": {"NAME": str(VAR_DIR / "test_nyiops.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"

# Login throttling (RELIABILITY.md D6): five wrong passwords lock that username from that
# address for the cool-off; other usernames from the address, and the username from other
# addresses, still log in. Lockouts are logged (nyiops.auth) and unlocked in the admin.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "nyiops.auth.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Proxies in front of the web process that append to X-Forwarded-For (0: none, trust only
# the socket's address; 1: one reverse proxy, take the address it saw).
NYIOPS_TRUSTED_PROXY_COUNT = env.int("NYIOPS_TRUSTED_PROXY_COUNT", default=0)

# Two-factor authentication (RELIABILITY.md D7): TOTP plus static backup codes. Staff must
# verify before any page; customers only when their company asks (Customer.require_2fa).
OTP_TOTP_ISSUER = "nyiops"
OTP_TOTP_TOLERANCE = 1
NYIOPS_2FA_POLICY = "customers.twofactor.requires_two_factor"
# Step-up re-authentication window for dangerous actions (nyiops.reauth).
NYIOPS_REAUTH_MINUTES = env.int("NYIOPS_REAUTH_MINUTES", default=15)
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Development and tests serve straight from static/; production serves collectstatic output.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Sessions and security headers (RELIABILITY.md §3.3).
SESSION_COOKIE_AGE = 12 * 3600  # absolute lifetime (ASVS 3.3.2)
SESSION_ENGINE = "nyiops.sessions"  # Django's database sessions, read as plain SQL
NYIOPS_IDLE_TIMEOUT_MINUTES = env.int("NYIOPS_IDLE_TIMEOUT_MINUTES", default=30)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = strict_bool("SECURE_SSL_REDIRECT", default=True)
    # The health probe speaks plain HTTP to the container itself, inside the TLS proxy.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = strict_bool("SECURE_HSTS_PRELOAD", default=True)
    if strict_bool("BEHIND_TLS_PROXY", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp 4): scripts only from our own static files, so htmx
# runs with allowEval off and no inline script anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
    }
}

CACHES = {
    "default": (
        env.cache("CACHE_URL")
        if "CACHE_URL" in os.environ
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A cache that cannot answer must not hold a page up: the dashboard computes its widgets
    # itself when Redis is down (hosts.dashboard.cache), so a blackholed Redis costs a
    # request half a second per look-up, not a hung worker.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        socket_connect_timeout=env.float("NYIOPS_CACHE_TIMEOUT_SECONDS", default=0.5),
        socket_timeout=env.float("NYIOPS_CACHE_TIMEOUT_SECONDS", default=0.5),
    )

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    # Django's SMTP backend with a deadline for the whole conversation (nyiops/mail.py).
    default="nyiops.mail.DeadlineEmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="nyiops@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "no_key_material": {"()": "nyiops.logging.KeyMaterialFilter"},
        "request_id": {"()": "nyiops.requestid.RequestIdLogFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id", "no_key_material"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"paramiko": {"level": "WARNING"}},
}

# Celery (RELIABILITY.md §3.1). All CELERY_* keys are read by nyiops/celery.py.
REDIS_URL = env.str("REDIS_URL", default="")
# Bounded socket waits and a publish that gives up within about a second (RELIABILITY A5:
# a web request that enqueues must fail fast, not hang, while Redis is down).
REDIS_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
    "health_check_interval": 10,
    "retry_on_timeout": True,
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = dict(REDIS_TRANSPORT_OPTIONS)
else:
    # Server-less broker for the demo: messages are files under var/celery/.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"  # broadcast (pidbox); default is the cwd
    for _d in (_queue_dir, _processed_dir, _control_dir):
        _d.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
        "control_folder": str(_control_dir),
        # Same upper bound as Redis so the invariants below hold whatever the broker.
        "visibility_timeout": 3600,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = 500
CELERY_WORKER_MAX_MEMORY_PER_CHILD = 262_144
CELERY_TASK_TRACK_STARTED = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_DEFAULT_QUEUE = "poll"
CELERY_TASK_CREATE_MISSING_QUEUES = False
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 25
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = strict_bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# Where people reach this site: one-click links in notifications are built on it.
NYIOPS_BASE_URL = env.str("NYIOPS_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Polling (the due-time column lives on Host; beat only runs the dispatcher sweep).
NYIOPS_DISPATCH_INTERVAL = env.float("NYIOPS_DISPATCH_INTERVAL", default=2.0)
# Longer than poll_host's hard limit (85 s), which bounds SSH at its worst plus the store;
# a claim's lease runs from the latest due time the dispatch claimed for (now + the dispatch
# interval): tests/reliability/test_time_limits.py, tests/hosts/test_dispatch.py.
NYIOPS_POLL_LEASE_SECONDS = env.int("NYIOPS_POLL_LEASE_SECONDS", default=90)
# Hosts per poll task, and the threads per worker process that poll a batch's hosts side
# by side (docs/polling.md: one Celery task per host cost more than an unchanged poll).
NYIOPS_POLL_BATCH = env.int("NYIOPS_POLL_BATCH", default=20)
NYIOPS_POLL_THREADS = env.int("NYIOPS_POLL_THREADS", default=16)
# Threads per worker process for hosts whose last poll timed out (hosts.polling.slow_lane),
# so a tarpit or a hung command never holds a regular poll thread; no queue: when all are
# busy such a host takes a regular thread. 0: no slow lane.
NYIOPS_POLL_SLOW_THREADS = env.int("NYIOPS_POLL_SLOW_THREADS", default=4)
# Host affinity (hosts.polling.shards): each poll worker process holds one of this many
# shards (a lease renewed every third of its length) and polls the hosts hashed to it, so a
# host's persistent connection lives in one process. More poll processes than shards: the
# extra ones poll only what the shared queue brings (dispatches, sweeps, unrouted batches).
NYIOPS_POLL_SHARDS = env.int("NYIOPS_POLL_SHARDS", default=8)
NYIOPS_POLL_SHARD_LEASE_SECONDS = env.int("NYIOPS_POLL_SHARD_LEASE_SECONDS", default=15)
# How often a worker looks for cluster members that dropped their persistent connection
# (hosts.polling.run.watch_connection): such a host is polled at the next dispatch.
NYIOPS_WATCH_DROPPED_EVERY = env.float("NYIOPS_WATCH_DROPPED_EVERY", default=0.5)
NYIOPS_SSH_TIMEOUTS = {
    "connect": env.float("NYIOPS_SSH_CONNECT_TIMEOUT", default=5.0),
    "banner": env.float("NYIOPS_SSH_BANNER_TIMEOUT", default=10.0),
    "auth": env.float("NYIOPS_SSH_AUTH_TIMEOUT", default=10.0),
    "command": env.float("NYIOPS_SSH_COMMAND_TIMEOUT", default=15.0),
}
NYIOPS_METRICS_RETENTION = timedelta(days=env.int("NYIOPS_METRICS_RETENTION_DAYS", default=30))

# Operations (issue 10; docs/operations.md). Approval policy per kind: `second_person` means
# the requester cannot approve their own request.
NYIOPS_OPERATION_APPROVAL = {
    "carp-maintenance": {"second_person": True},
    "carp-maintenance-end": {"second_person": False},
    "pf-push": {"second_person": True},
    "haproxy-drain": {"second_person": False},
    "haproxy-undrain": {"second_person": False},
    "disk-replace": {"second_person": False},
    "mirror-clone": {"second_person": True},
    "backup-now": {"second_person": False},
}
NYIOPS_OPERATION_APPROVAL_TTL_SECONDS = env.int(
    "NYIOPS_OPERATION_APPROVAL_TTL_SECONDS", default=3600
)
# > the run task's hard time limit (570 s): a killed run's locks free themselves after it.
NYIOPS_OPERATION_LOCK_LEASE_SECONDS = env.int("NYIOPS_OPERATION_LOCK_LEASE_SECONDS", default=600)
NYIOPS_OPERATION_COMMAND_TIMEOUT_SECONDS = 30.0
NYIOPS_OPERATION_VERIFY_INTERVAL_SECONDS = 0.5
NYIOPS_OPERATION_REDISPATCH_SECONDS = 120
NYIOPS_OPERATION_DECIDE_SECONDS = 1800
NYIOPS_OPERATION_SILENCE_GRACE_SECONDS = env.int(
    "NYIOPS_OPERATION_SILENCE_GRACE_SECONDS", default=300
)
NYIOPS_CARP_VERIFY_MARGIN_SECONDS = 5.0
NYIOPS_DRAIN_WAIT_SECONDS = env.int("NYIOPS_DRAIN_WAIT_SECONDS", default=300)
NYIOPS_PF_CONFIRM_SECONDS = env.int("NYIOPS_PF_CONFIRM_SECONDS", default=300)
NYIOPS_STEP_UP_KINDS = ("carp-maintenance", "pf-push", "mirror-clone")
# The host-side revert timer fires this long after the confirm deadline, so a late confirm
# cancels it in time; an unconfirmed push is reverted by the engine first, the timer second.
NYIOPS_PF_REVERT_MARGIN_SECONDS = 60
# A verify wait longer than this continues in the next run (disk rebuilds take hours; the
# run task's soft limit is 540 s), after NYIOPS_OPERATION_LATER_SECONDS.
NYIOPS_OPERATION_VERIFY_SLICE_SECONDS = 240
NYIOPS_OPERATION_LATER_SECONDS = 10
NYIOPS_REBUILD_WAIT_SECONDS = env.int("NYIOPS_REBUILD_WAIT_SECONDS", default=12 * 3600)
NYIOPS_BACKUP_WAIT_SECONDS = env.int("NYIOPS_BACKUP_WAIT_SECONDS", default=6 * 3600)
NYIOPS_BACKUP_WRAPPER = env.str("NYIOPS_BACKUP_WRAPPER", default="/usr/local/sbin/nyiops-backup")
# How long a CARP rollback waits for a node that went away (a reboot) to come back.
NYIOPS_CARP_REBOOT_WAIT_SECONDS = 120

# Alerts (docs/reliability.md): a new alert waits this long before its first page, so a
# finding that clears on the next poll pages nobody; per kind overrides, e.g.
# NYIOPS_ALERT_HOLD_BY_KIND="no_master=45,split_brain=0". `no_master` is held longest: while
# a fleet starts, a pair's members are polled one after the other and the pair shows no
# MASTER until both answered.
NYIOPS_ALERT_HOLD_SECONDS = env.float("NYIOPS_ALERT_HOLD_SECONDS", default=2.0)
NYIOPS_ALERT_HOLD_BY_KIND = {"no_master": 45.0} | {
    k: float(v) for k, v in env.dict("NYIOPS_ALERT_HOLD_BY_KIND", default={}).items()
}
# After an acknowledgement's ETA passes the acknowledger is re-paged at once; the policy's
# escalation restarts this many minutes later unless somebody acknowledges again.
NYIOPS_ACK_EXPIRED_ESCALATE_AFTER_MINUTES = env.int(
    "NYIOPS_ACK_EXPIRED_ESCALATE_AFTER_MINUTES", default=5
)

# Worker liveness (RELIABILITY §3.1): beat sends a canary task to every queue each interval;
# /healthz/worker says "not consuming" when a queue's canary has not completed within the
# window. Liveness is throughput, not "the process exists".
NYIOPS_CANARY_INTERVAL = env.float("NYIOPS_CANARY_INTERVAL", default=60.0)
NYIOPS_WORKER_LIVENESS_SECONDS = env.float("NYIOPS_WORKER_LIVENESS_SECONDS", default=120.0)

# Time limits that hold in the threads pool (RELIABILITY A7, docs/reliability.md): on
# PostgreSQL every statement has a timeout, shorter in workers (set per connection by
# nyiops/celery.py) than in the web; a task's own deadline stops it at its next statement
# after its soft limit, so it ends by soft limit + one worker statement timeout.
NYIOPS_WEB_STATEMENT_TIMEOUT = env.float("NYIOPS_WEB_STATEMENT_TIMEOUT", default=30.0)
NYIOPS_WORKER_STATEMENT_TIMEOUT = env.float("NYIOPS_WORKER_STATEMENT_TIMEOUT", default=10.0)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options.setdefault(
        "options", f"-c statement_timeout={int(NYIOPS_WEB_STATEMENT_TIMEOUT * 1000)}"
    )
# Django's default is no timeout at all: an SMTP server that accepts and stalls would hold a
# notify thread forever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # each socket operation
EMAIL_TOTAL_TIMEOUT = env.int("EMAIL_TOTAL_TIMEOUT", default=15)  # the whole conversation

# REST API (api/, docs/api.md): tokens or the browser session; every view scopes its rows
# through customers.scoping. Rates are per token (per user for sessions).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.access.ApiUser"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.PerTokenThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env.str("NYIOPS_API_RATE", default="1200/minute")},
    "DEFAULT_PAGINATION_CLASS": "api.pagination.IdCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "nyiops API",
    "DESCRIPTION": "Inventory, observed state, alerts and integrations of the nyiops fleet.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["api.access.ApiUser"],
    "SCHEMA_PATH_PREFIX": r"/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SeverityEnum": "hosts.models.Severity",
        "NotificationStatusEnum": "alerts.choices.NotificationStatus",
        "AlertmanagerStatusEnum": ["firing", "resolved"],
        "OperationStateEnum": "operations.choices.OpState",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}
# API request bodies above this size are refused with 413 before they are parsed.
NYIOPS_API_MAX_BODY_BYTES = env.int("NYIOPS_API_MAX_BODY_BYTES", default=256 * 1024)
# Bearer token that Prometheus presents on /metrics. Unset: /metrics answers 404 in
# production; in development it is open to logged-in staff only.
NYIOPS_METRICS_TOKEN = env.str("NYIOPS_METRICS_TOKEN", default="")
