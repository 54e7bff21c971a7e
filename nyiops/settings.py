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


SECRET_KEY = _required_in_production("SECRET_KEY", lambda: secrets.token_urlsafe(64))
# Fernet keys for secrets at rest (SSH private keys, webhook tokens). A comma-separated list:
# the first encrypts, all decrypt, so a key can be rotated without re-encrypting at once.
NYIOPS_SECRET_KEYS = [
    k.strip()
    for k in _required_in_production(
        "NYIOPS_SECRET_KEYS", lambda: Fernet.generate_key().decode()
    ).split(",")
    if k.strip()
]

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "audit",
    "customers",
    "hosts",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "nyiops.idle.IdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
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
NYIOPS_IDLE_TIMEOUT_MINUTES = env.int("NYIOPS_IDLE_TIMEOUT_MINUTES", default=30)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("BEHIND_TLS_PROXY", default=True):
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

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="nyiops@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_key_material": {"()": "nyiops.logging.KeyMaterialFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_key_material"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"paramiko": {"level": "WARNING"}},
}

# Celery (RELIABILITY.md §3.1). All CELERY_* keys are read by nyiops/celery.py.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
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
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# Where people reach this site: one-click links in notifications are built on it.
NYIOPS_BASE_URL = env.str("NYIOPS_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Polling (the due-time column lives on Host; beat only runs the dispatcher sweep).
NYIOPS_DISPATCH_INTERVAL = env.float("NYIOPS_DISPATCH_INTERVAL", default=2.0)
NYIOPS_POLL_LEASE_SECONDS = env.int("NYIOPS_POLL_LEASE_SECONDS", default=60)
# Hosts per poll task, and the threads per worker process that poll a batch's hosts side
# by side (docs/polling.md: one Celery task per host cost more than an unchanged poll).
NYIOPS_POLL_BATCH = env.int("NYIOPS_POLL_BATCH", default=20)
NYIOPS_POLL_THREADS = env.int("NYIOPS_POLL_THREADS", default=16)
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
