"""Settings, all from the environment (django-environ). Bad values fail loudly at start-up.

Embedded defaults need no services: SQLite in ``var/`` and a filesystem Celery broker in
``var/broker``. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and Redis.
``MATE_ENV=production`` refuses to start without a secret key, a key ring and allowed hosts.
"""

from __future__ import annotations

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from mate.keyring import KeyRingError, dev_keyring, parse_keyring

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

VAR_DIR = Path(env.str("MATE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "staticfiles").mkdir(exist_ok=True)

MATE_ENV = env.str("MATE_ENV", default="development")
if MATE_ENV not in ("development", "production", "test"):
    raise ImproperlyConfigured(
        f"MATE_ENV={MATE_ENV!r} is not valid; use development, production or test"
    )
PRODUCTION = MATE_ENV == "production"

_missing = [
    name
    for name in ("DJANGO_SECRET_KEY", "MATE_ENCRYPTION_KEYS", "DJANGO_ALLOWED_HOSTS")
    if PRODUCTION and not env.str(name, default="").strip()
]
if _missing:
    raise ImproperlyConfigured(
        "MATE_ENV=production refuses to start without " + ", ".join(_missing) + "; set them in "
        "the environment (see README, 'Running in production')"
    )


def _dev_secret_key() -> str:
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _dev_secret_key()
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

try:
    _ring_text = env.str("MATE_ENCRYPTION_KEYS", default="")
    MATE_ENCRYPTION_KEYS = (
        parse_keyring(_ring_text)
        if _ring_text.strip()
        else dev_keyring(VAR_DIR / "encryption.keys")
    )
except KeyRingError as exc:
    raise ImproperlyConfigured(str(exc)) from None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "tenants",
    "jobs",
    "toolservice",
    "mate",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mate.dbdown.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mate.urls"
WSGI_APPLICATION = "mate.wsgi.application"

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
            ],
        },
    }
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'mate.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # One SQLite file shared by web, worker and beat, each with threads (SPEC §10): WAL lets
    # readers run beside the one writer; every transaction that may write takes the write lock
    # when it begins (IMMEDIATE), so two writers queue on the busy timeout instead of one of them
    # failing at once with "database is locked" when a read lock cannot be upgraded.
    # synchronous=FULL: a 200 for a webhook means the delivery survives a power cut (T30).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
        }
    )
    # Tests get a database file as well (not Django's shared-cache in-memory default, whose
    # table locks fail at once instead of waiting), so threads and live servers behave there
    # exactly as under `make run`.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(VAR_DIR / f"test-{DATABASES['default']['NAME'].rsplit('/', 1)[-1]}")
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "login"

# Sessions: HttpOnly, SameSite, idle timeout of 8 hours (refreshed on activity).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("MATE_SESSION_IDLE_SECONDS", default=8 * 3600)
SESSION_SAVE_EVERY_REQUEST = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("MATE_SECURE_COOKIES", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {"TITLE": "Mate tool service", "VERSION": "1"}

# --- Cache (rate limits shared by every process) ----------------------------------------
if env.str("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("REDIS_URL"),
            "KEY_PREFIX": "mate",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery -----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # Embedded broker: messages are files in var/broker, shared by web, worker and beat.
    for _sub in ("out", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
        # The worker looks for new message files this often (kombu's default is 1 s, which
        # left a burst of deliveries waiting seconds each for a worker process).
        "polling_interval": 0.2,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("MATE_CELERY_EAGER", default=False)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"jobs.run_job": {"queue": "jobs"}, "jobs.*": {"queue": "default"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("MATE_TASK_SOFT_TIME_LIMIT", default=25 * 3600)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must fail fast (the webhook answers within milliseconds; a sweeper re-queues).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic work of SPEC §9; each entry names a task that later issues implement.
CELERY_BEAT_SCHEDULE = {
    "purge-old-data": {"task": "jobs.purge_old_data", "schedule": crontab(hour=3, minute=17)},
    "every-minute": {
        "task": "jobs.periodic_minute",
        "schedule": float(env.int("MATE_RECONCILE_SECONDS", default=60)),
    },
}

# --- Mate -------------------------------------------------------------------------------
MATE_DEPLOYMENT = env.str("MATE_DEPLOYMENT", default="hosted")
MATE_RETENTION_DAYS = env.int("MATE_RETENTION_DAYS", default=30)
# The retention purge sleeps between its batches so that it works at most this share of the time
# (0 < x <= 1; 1: no pauses), leaving the database and CPUs to the web (SPEC §9).
MATE_PURGE_DUTY_CYCLE = env.float("MATE_PURGE_DUTY_CYCLE", default=0.25)
if not 0 < MATE_PURGE_DUTY_CYCLE <= 1:
    raise ImproperlyConfigured(
        f"MATE_PURGE_DUTY_CYCLE={MATE_PURGE_DUTY_CYCLE} is not valid; it is the share of the time "
        "the retention purge may work, more than 0 and at most 1"
    )
MATE_MAX_JOBS_PER_OBJECT_PER_HOUR = env.int("MATE_MAX_JOBS_PER_OBJECT_PER_HOUR", default=10)
MATE_MAX_PENDING_PER_TENANT = env.int("MATE_MAX_PENDING_PER_TENANT", default=20)
MATE_ALLOW_PRIVATE_GITLAB = env.bool("MATE_ALLOW_PRIVATE_GITLAB", default=False)
MATE_AGENT_IMAGE = env.str("MATE_AGENT_IMAGE", default="mate-agent:latest")
MATE_PUBLIC_URL = env.str("MATE_PUBLIC_URL", default="http://127.0.0.1:8000")
MATE_WEBHOOK_MAX_BYTES = 25 * 1024 * 1024  # GitLab's own cap
MATE_WEBHOOK_FAILURES_PER_MINUTE = env.int("MATE_WEBHOOK_FAILURES_PER_MINUTE", default=30)
MATE_DEDUPE_DAYS = 7
# Bounds on what one delivery or one tenant's deliveries may cost (SPEC §5.1, §5.2; THREATS T44).
MATE_MAX_EVENTS_PER_DELIVERY = env.int("MATE_MAX_EVENTS_PER_DELIVERY", default=20)
MATE_TENANT_DELIVERIES_PER_MINUTE = env.int("MATE_TENANT_DELIVERIES_PER_MINUTE", default=600)
MATE_LOGIN_FAILURES_PER_MINUTE = env.int("MATE_LOGIN_FAILURES_PER_MINUTE", default=10)
MATE_OPENROUTER_MODELS_URL = env.str(
    "MATE_OPENROUTER_MODELS_URL", default="https://openrouter.ai/api/v1/models"
)

# Job runner (SPEC §6, jobs/runner). Containers reach the tool service at MATE_TOOL_BASE_URL, or,
# when empty, at http://<gateway of the mate-jobs bridge>:MATE_TOOL_PORT (the web server must then
# listen on that address or 0.0.0.0, and DJANGO_ALLOWED_HOSTS must include it).
MATE_TOOL_BASE_URL = env.str("MATE_TOOL_BASE_URL", default="")
MATE_TOOL_PORT = env.int("MATE_TOOL_PORT", default=8000)
# Where agent containers reach the Anthropic API for tenants whose LLM provider is Anthropic (an
# LLM gateway or proxy); empty: claude-code's default (api.anthropic.com). OpenRouter tenants
# always get OpenRouter's Anthropic-compatible endpoint.
MATE_ANTHROPIC_BASE_URL = env.str("MATE_ANTHROPIC_BASE_URL", default="")
MATE_WATCHDOG_SECONDS = env.int("MATE_WATCHDOG_SECONDS", default=300)
MATE_REAP_GRACE_SECONDS = env.int("MATE_REAP_GRACE_SECONDS", default=120)
# The reconciler (jobs.periodic_minute) re-queues deliveries still unprocessed after
# MATE_SWEEP_GRACE_SECONDS and STARTING jobs no worker claimed after MATE_REQUEUE_AFTER_SECONDS
# (the broker lost them). Shorter values recover faster and risk re-queueing work in flight.
MATE_SWEEP_GRACE_SECONDS = env.int("MATE_SWEEP_GRACE_SECONDS", default=30)
MATE_REQUEUE_AFTER_SECONDS = env.int("MATE_REQUEUE_AFTER_SECONDS", default=60)
MATE_MAX_LOG_LINES = env.int("MATE_MAX_LOG_LINES", default=20_000)
# Tool service limits (SPEC §7.2): a burst window per job, a total per job, and failed job
# credential checks per address per minute.
MATE_TOOL_BURST = env.int("MATE_TOOL_BURST", default=60)
MATE_TOOL_BURST_SECONDS = env.int("MATE_TOOL_BURST_SECONDS", default=10)
MATE_TOOL_CALLS_PER_JOB = env.int("MATE_TOOL_CALLS_PER_JOB", default=2000)
MATE_TOOL_AUTH_FAILURES_PER_MINUTE = env.int("MATE_TOOL_AUTH_FAILURES_PER_MINUTE", default=30)
# How often the jobs console refreshes unfinished rows and timelines, in milliseconds.
MATE_CONSOLE_REFRESH_MS = env.int("MATE_CONSOLE_REFRESH_MS", default=5000)
# When set, GET /metrics needs "Authorization: Bearer <token>"; empty: /metrics is open (bind it
# to a private network or set this).
MATE_METRICS_TOKEN = env.str("MATE_METRICS_TOKEN", default="")
MATE_DOCKER_TIMEOUT = env.int("MATE_DOCKER_TIMEOUT", default=60)
# Labels this installation's job containers (mate.scope) so that two installations sharing one
# Docker engine never reap each other's containers.
MATE_CONTAINER_SCOPE = env.str("MATE_CONTAINER_SCOPE", default="mate")
if not 10 <= MATE_WATCHDOG_SECONDS <= 300:
    raise ImproperlyConfigured(
        f"MATE_WATCHDOG_SECONDS={MATE_WATCHDOG_SECONDS} is not valid; the no-activity watchdog "
        "is at most 5 minutes (SPEC §6.1) and at least 10 seconds"
    )

# --- Logging ----------------------------------------------------------------------------
# JSON lines in production (one object per record, redacted), readable text in development.
MATE_LOG_FORMAT = env.str("MATE_LOG_FORMAT", default="json" if PRODUCTION else "plain")
if MATE_LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(
        f"MATE_LOG_FORMAT={MATE_LOG_FORMAT!r} is not valid; use json or plain"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "mate.redaction.RedactingFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "mate.logformat.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": MATE_LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("MATE_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
