"""Settings for feedbackloop, every value read from the environment.

The embedded defaults (SQLite, locmem cache, Celery eager) let `make demo` run with nothing
installed; production sets DATABASE_URL, REDIS_URL and CELERY_BROKER_URL. `.env.example` lists every variable.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from feedbackloop.env import (
    env_bool,
    env_evaluators,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string, "
            "or set DEBUG=true for development."
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-true"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The keyed hash that pseudonymises end-user ids on ingest. Changing it breaks the link between
# old and new pseudonyms, so production sets it explicitly instead of relying on SECRET_KEY.
USER_ID_HASH_KEY = (
    env_str("USER_ID_HASH_KEY") or hashlib.sha256(f"user-id-hash:{SECRET_KEY}".encode()).hexdigest()
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    "corsheaders",
    "annotation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Permissions-Policy, and Cache-Control: no-store on API answers and signed-in pages.
    "annotation.security_headers.SecurityHeadersMiddleware",
    # The audit log learns who asked, and from where, from the request being served.
    "annotation.services.audit.AuditRequestMiddleware",
    # Cross-origin calls reach the feedback widget's endpoints only (CORS_URLS_REGEX), from
    # origins some widget key allows (annotation.apps connects that check).
    "corsheaders.middleware.CorsMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # NUL in the path, query or a form value, and API bodies over the size limit, answered with a
    # 400/413 that names what was wrong; chunked bodies read (annotation/middleware.py).
    "annotation.middleware.InputHygieneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A form posted after the session expired: kept, and the person sent to log in and back.
    "annotation.form_rescue.FormRescueMiddleware",
    # An AppError raised by a page becomes its styled error page (annotation/errors.py).
    "annotation.middleware.AppErrorMiddleware",
]

ROOT_URLCONF = "feedbackloop.urls"
WSGI_APPLICATION = "feedbackloop.wsgi.application"
ASGI_APPLICATION = "feedbackloop.asgi.application"

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
    },
]

DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
# Behind PgBouncer in transaction pooling mode (the web; README, "Connection pooling") set this:
# `.iterator()` then reads in client-side chunks instead of a server-side cursor, which would
# outlive the transaction that PgBouncer ties to one server connection.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
    "DATABASE_DISABLE_SERVER_SIDE_CURSORS", False
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "feedbackloop"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # The manifest (hashed names, needs `collectstatic`) is for production; tests and the
        # demo serve files as they are.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)
# HTTPS only, on by default whenever DEBUG is off (README "Security", hardening): plain HTTP is
# redirected, and browsers are told (HSTS) never to try it again. The test suite speaks plain
# HTTP and turns the redirect off (tests/conftest.py); `make lint` runs `check --deploy`.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# The CSRF token reaches htmx through the page (base.html's hx-headers), never from the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=300)
# Sent on every response by annotation.security_headers (Django has no setting for it).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)

# Sign-in: after LOGIN_FAILURES_PER_ACCOUNT wrong passwords for one account (or
# LOGIN_FAILURES_PER_ADDRESS from one address) within LOGIN_FAILURE_WINDOW_SECONDS, sign-in is
# refused for LOGIN_LOCK_SECONDS, the right password included (counters in the cache: Redis).
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 50, minimum=1)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)
LOGIN_LOCK_SECONDS = env_int("LOGIN_LOCK_SECONDS", 900, minimum=1)
AUTHENTICATION_BACKENDS = ["annotation.auth_backends.ThrottledModelBackend"]
# Requests per minute one ingestion key may make (a key's own rate_limit_per_minute wins).
INGEST_RATE_PER_KEY = env_int("INGEST_RATE_PER_KEY", 6000, minimum=1)

# Single sign-on through OpenID Connect (mozilla-django-oidc), on when OIDC_CLIENT_ID is set. The
# provider's endpoints come from OIDC_ISSUER's discovery document unless set one by one. Signing
# in creates or links the user and grants nothing: a lead still adds them to projects.
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_ISSUER = env_url("OIDC_ISSUER", schemes=("https", "http"))
OIDC_OP_AUTHORIZATION_ENDPOINT = env_url("OIDC_AUTHORIZATION_ENDPOINT", schemes=("https", "http"))
OIDC_OP_TOKEN_ENDPOINT = env_url("OIDC_TOKEN_ENDPOINT", schemes=("https", "http"))
OIDC_OP_USER_ENDPOINT = env_url("OIDC_USERINFO_ENDPOINT", schemes=("https", "http"))
OIDC_OP_JWKS_ENDPOINT = env_url("OIDC_JWKS_ENDPOINT", schemes=("https", "http"))
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_BUTTON_LABEL = env_str("OIDC_BUTTON_LABEL", "Sign in with single sign-on")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10, minimum=1)
OIDC_AUTHENTICATE_CLASS = "annotation.sso.SSOAuthenticationRequestView"
OIDC_CALLBACK_CLASS = "annotation.sso.SSOCallbackView"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"
if OIDC_ENABLED:
    if not (OIDC_ISSUER or OIDC_OP_AUTHORIZATION_ENDPOINT):
        raise ImproperlyConfigured(
            "OIDC_CLIENT_ID is set but OIDC_ISSUER is not: set OIDC_ISSUER to the provider's "
            "issuer URL (its /.well-known/openid-configuration names the endpoints)."
        )
    AUTHENTICATION_BACKENDS.append("annotation.sso.SSOBackend")

# Enforced, not report-only: annotators read untrusted model output all day, so if anything ever
# slips past the sanitiser the browser still refuses to run it. Nothing inline, nothing from
# another origin: scripts and styles are our static files, htmx only talks to us (see base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # data: for the small inline icons in CSS (Swagger UI's); never another origin, since
        # loading a remote image is how model output would exfiltrate what it saw.
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Ingestion bodies carry up to 1,000 interactions; the API enforces per-field limits itself.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 64 * 1024 * 1024, minimum=1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotation.api.authentication.UserTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["annotation.api.permissions.IsPerson"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, nested at most 64 deep, no NUL or lone surrogate anywhere (annotation/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["annotation.api.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotation.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "feedbackloop API",
    "DESCRIPTION": (
        "Ingest LLM interactions and feedback, review them in queues, and export curated "
        "datasets. Ingestion uses a project key (`Authorization: Bearer <key>`); everything else "
        "a user token (`Authorization: Token <token>`) or the browser session."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validator badge: Swagger UI would load it from validator.swagger.io (blocked by our CSP,
    # and it would tell a third party where our schema lives).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # Queues and their items both have a `state`: name each set of values after what it is.
    "ENUM_NAME_OVERRIDES": {
        "QueueStateEnum": "annotation.models.review.QueueState",
        "ItemStateEnum": "annotation.models.review.ItemState",
    },
}

# Celery: eager (tasks run inline) when no broker is configured, so the demo needs no Redis.
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", schemes=("redis", "rediss", "amqp", "memory", "sqla+postgresql")
)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL or "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Every queue a task is routed to (CELERY_TASK_ROUTES below), declared so that a worker started
# without -Q consumes them all; `-Q` narrows a worker to some of them. Without this list a bare
# worker takes only `default`, and fills, checks and exports would wait forever.
CELERY_TASK_QUEUES = {
    name: {"exchange": name, "exchange_type": "direct", "routing_key": name}
    for name in ("default", "checks", "evaluators", "heavy", "alerts")
}
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "annotation.api.openapi.add_msgspec_components",
    "annotation.api.openapi.add_error_responses",
]

# Latency-sensitive work (checks, alerts) and heavy work (fills, agreement, exports) go to separate
# queues so an export never delays a safety check; run a worker per queue in production.
CELERY_TASK_ROUTES = {
    "annotation.tasks.ingestion.link_waiting_feedback": {"queue": "default"},
    "annotation.tasks.checks.*": {"queue": "checks"},
}
CELERY_BEAT_SCHEDULE = {
    "link-waiting-feedback": {
        "task": "annotation.tasks.ingestion.link_waiting_feedback",
        "schedule": env_int("LINK_FEEDBACK_EVERY_SECONDS", 300, minimum=10),
    },
    "sweep-unchecked-interactions": {
        "task": "annotation.tasks.checks.sweep_unchecked",
        "schedule": env_int("CHECKS_SWEEP_EVERY_SECONDS", 60, minimum=10),
    },
}

# The embeddable feedback widget: cross-origin requests only to its endpoints, no cookies; the
# allowed origins are each widget key's own. Requests per minute per key, and per key and address.
CORS_URLS_REGEX = r"^/api/v1/widget/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ("GET", "POST", "OPTIONS")
CORS_PREFLIGHT_MAX_AGE = 600
WIDGET_RATE_PER_KEY = env_int("WIDGET_RATE_PER_KEY", 6000, minimum=1)
WIDGET_RATE_PER_ADDRESS = env_int("WIDGET_RATE_PER_ADDRESS", 60, minimum=1)

# Comment themes: vectors from an OpenAI-compatible `/v1/embeddings` endpoint when set, else
# TF-IDF. The worker computing themes calls it; a failure falls back to TF-IDF and says so.
EMBEDDINGS_BASE_URL = env_url("EMBEDDINGS_BASE_URL", schemes=("http", "https"))
EMBEDDINGS_MODEL = env_str("EMBEDDINGS_MODEL", "text-embedding-3-small")
EMBEDDINGS_API_KEY = env_str("EMBEDDINGS_API_KEY")
EMBEDDINGS_TIMEOUT_SECONDS = float(env_int("EMBEDDINGS_TIMEOUT_SECONDS", 30, minimum=1))

# The LLM judge: any OpenAI-compatible chat-completions endpoint.
JUDGE_BASE_URL = env_url("JUDGE_BASE_URL", schemes=("http", "https"))
JUDGE_MODEL = env_str("JUDGE_MODEL", "gpt-4o-mini")
JUDGE_API_KEY = env_str("JUDGE_API_KEY")
JUDGE_TIMEOUT_SECONDS = float(env_int("JUDGE_TIMEOUT_SECONDS", 20, minimum=1))
JUDGE_MAX_RETRIES = env_int("JUDGE_MAX_RETRIES", 3, minimum=0)
JUDGE_BACKOFF_SECONDS = env_float("JUDGE_BACKOFF_SECONDS", 0.5, minimum=0)
JUDGE_INPUT_COST_PER_1K = env_float("JUDGE_INPUT_COST_PER_1K", 0.0, minimum=0)
JUDGE_OUTPUT_COST_PER_1K = env_float("JUDGE_OUTPUT_COST_PER_1K", 0.0, minimum=0)
# The Python evaluators a `python` check may name: `name=package.module:function,…`. A check
# says {"evaluator": "name"}; only these targets are ever imported, never a path from a request.
EVALUATORS = env_evaluators("EVALUATORS")
# LLM judges and Python evaluators are slow and call out: their own queue, so rule checks never
# wait behind them (exact names win over the `checks.*` pattern).
CELERY_TASK_ROUTES["annotation.tasks.checks.run_evaluator"] = {"queue": "evaluators"}
# Interactions not checked this long after arrival are picked up by the sweep.
CHECKS_SWEEP_AFTER_SECONDS = env_int("CHECKS_SWEEP_AFTER_SECONDS", 120, minimum=0)
# The sweep queues at most this many per tick, oldest first; a backlog drains over several ticks.
CHECKS_SWEEP_LIMIT = env_int("CHECKS_SWEEP_LIMIT", 5000, minimum=1)

# Review queues: fills are heavy; lease expiry is quick and keeps annotators moving.
CELERY_TASK_ROUTES.update(
    {
        "annotation.tasks.queues.fill_queue": {"queue": "heavy"},
        "annotation.tasks.queues.fill_due_queues": {"queue": "default"},
        "annotation.tasks.queues.expire_leases": {"queue": "default"},
    }
)
CELERY_BEAT_SCHEDULE.update(
    {
        # Each queue has its own schedule (fill_every_minutes); this finds the due ones.
        "fill-due-queues": {
            "task": "annotation.tasks.queues.fill_due_queues",
            "schedule": 60.0,
        },
        "expire-leases": {
            "task": "annotation.tasks.queues.expire_leases",
            "schedule": 60.0,
        },
        # Dashboards, comparisons and alerts read the rollups: rebuild the hours that changed.
        "refresh-rollups": {
            "task": "annotation.tasks.insights.refresh_rollups",
            "schedule": float(env_int("ROLLUPS_EVERY_SECONDS", 10, minimum=1)),
        },
    }
)

# Agreement reports are heavy work.
CELERY_TASK_ROUTES["annotation.tasks.agreement.compute_agreement"] = {"queue": "heavy"}

# Stored insight reports (metadata slices, comment themes, retrieval, retraining signal) read
# interactions and feedback: heavy work, refreshed daily for the last 7 days of each project.
CELERY_TASK_ROUTES["annotation.tasks.insight_reports.compute_insight_report"] = {"queue": "heavy"}
CELERY_BEAT_SCHEDULE["refresh-insight-reports"] = {
    "task": "annotation.tasks.insight_reports.refresh_insight_reports",
    "schedule": 24 * 3600.0,
}

# Exports are heavy work. With Redis as the broker, a message taken by a worker that died is
# handed out again once it has been unacknowledged this long: keep it above the longest export
# (a redelivery while the first worker still builds waits for it: an advisory lock).
CELERY_TASK_ROUTES["annotation.tasks.exports.build_export"] = {"queue": "heavy"}
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1)
}
# Several deployments (or test runs) can share one Redis: each prefixes its keys.
if env_str("CELERY_BROKER_KEY_PREFIX"):
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env_str("CELERY_BROKER_KEY_PREFIX")

# Webhooks and pipeline triggers. Deliveries and trigger evaluation run on the `alerts` queue
# (a slow receiver holds one send task, never the beat tick); a trigger's export build is heavy.
# WEBHOOK_ALLOW_PRIVATE=true allows plain http and private, loopback and link-local targets
# (tests, local set-ups); otherwise only https to public addresses, checked at send time too.
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 5.0, minimum=0.1)
WEBHOOK_MAX_RESPONSE_BYTES = env_int("WEBHOOK_MAX_RESPONSE_BYTES", 65536, minimum=1)
# Attempts per delivery (the first one included), then it fails and its webhook is failing.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6, minimum=1)
# Retry n waits about base * 2**(n-1) seconds (full jitter), at most the cap: keep the cap
# below CELERY_VISIBILITY_TIMEOUT, or Redis hands a waiting retry out twice.
WEBHOOK_BACKOFF_SECONDS = env_float("WEBHOOK_BACKOFF_SECONDS", 10.0, minimum=0)
WEBHOOK_BACKOFF_MAX_SECONDS = env_float("WEBHOOK_BACKOFF_MAX_SECONDS", 1800.0, minimum=0)
# Seals webhook signing secrets at rest; the first seals, all open (rotation). Default: SECRET_KEY.
WEBHOOK_SECRETS_KEYS = env_list("WEBHOOK_SECRETS_KEYS") or [SECRET_KEY]
# Trigger webhooks carry a signed download link to their export, valid this long.
TRIGGER_DOWNLOAD_MAX_AGE_SECONDS = env_int("TRIGGER_DOWNLOAD_MAX_AGE_SECONDS", 86400, minimum=60)
# Where this deployment is reached from outside: the start of the links webhooks carry.
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://localhost:8000", schemes=("http", "https"))
CELERY_TASK_ROUTES["annotation.tasks.deliveries.*"] = {"queue": "alerts"}
CELERY_TASK_ROUTES["annotation.tasks.triggers.evaluate_triggers"] = {"queue": "alerts"}
CELERY_TASK_ROUTES["annotation.tasks.triggers.build_trigger_export"] = {"queue": "heavy"}
CELERY_BEAT_SCHEDULE["evaluate-triggers"] = {
    "task": "annotation.tasks.triggers.evaluate_triggers",
    "schedule": float(env_int("TRIGGERS_EVERY_SECONDS", 60, minimum=1)),
}
CELERY_BEAT_SCHEDULE["resume-deliveries"] = {
    "task": "annotation.tasks.deliveries.resume_deliveries",
    "schedule": 60.0,
}

# Privacy (README "Privacy"). The key a USER_ID_HASH_KEY rotation replaced: pseudonyms under it are
# still found by look-ups and erasure while the rotation's window lasts. Erasure and retention
# delete in batches of PRIVACY_BATCH_SIZE interactions; a retention run deletes at most
# RETENTION_MAX_BATCHES batches per project (the next run goes on), daily on the heavy queue.
USER_ID_HASH_KEY_PREVIOUS = env_str("USER_ID_HASH_KEY_PREVIOUS")
PRIVACY_BATCH_SIZE = env_int("PRIVACY_BATCH_SIZE", 1000, minimum=1)
RETENTION_MAX_BATCHES = env_int("RETENTION_MAX_BATCHES", 200, minimum=1)
CELERY_TASK_ROUTES["annotation.tasks.privacy.enforce_retention"] = {"queue": "heavy"}
CELERY_BEAT_SCHEDULE["enforce-retention"] = {
    "task": "annotation.tasks.privacy.enforce_retention",
    "schedule": float(env_int("RETENTION_EVERY_SECONDS", 24 * 3600, minimum=60)),
}

# Alert rules: one evaluation tick every minute on the `alerts` queue, so fills, agreement and
# exports (the `heavy` queue) never delay an alert.
CELERY_TASK_ROUTES["annotation.tasks.alerts.evaluate_alerts"] = {"queue": "alerts"}
CELERY_BEAT_SCHEDULE["evaluate-alerts"] = {
    "task": "annotation.tasks.alerts.evaluate_alerts",
    "schedule": float(env_int("ALERTS_EVERY_SECONDS", 60, minimum=10)),
}

# Queue counters: fold the rows the triggers append (README "Review queues", progress counters).
CELERY_TASK_ROUTES["annotation.tasks.queues.compact_queue_counters"] = {"queue": "default"}
CELERY_BEAT_SCHEDULE["compact-queue-counters"] = {
    "task": "annotation.tasks.queues.compact_queue_counters",
    "schedule": 60.0,
}

# The API schema names the webhook and trigger value sets after what they are.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "DeliveryStatusEnum": "annotation.models.actions.DeliveryStatus",
        "WebhookFormatEnum": "annotation.models.actions.WebhookFormat",
        "TriggerRunStatusEnum": "annotation.models.actions.TriggerRunStatus",
        "TriggerReasonEnum": "annotation.models.actions.TriggerReason",
        # Beside the delivery statuses, the jobs' (exports, agreement reports) need a name too.
        "JobStatusEnum": "annotation.models.agreement.JobStatus",
    }
)

# Alert rules' condition types and checks' types are both fields named `type`: name each set.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "ConditionTypeEnum": "annotation.models.alerts.ConditionType",
        "CheckTypeEnum": "annotation.models.checks.CheckType",
        "AlertStateEnum": "annotation.models.alerts.AlertState",
        # Severities travel by name (info, warning, critical) wherever the API shows them.
        "SeverityEnum": ["info", "warning", "critical"],
        "CredentialStateEnum": ["active", "expired", "revoked"],
    }
)
