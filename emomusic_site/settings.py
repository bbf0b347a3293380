"""EmoMusic settings: one module, configured from the environment.

DJANGO_ENV picks the profile: "development" (the default: safe local values),
"test" (fast hashing, in-memory email) or "production" (every secret and host
must come from the environment, HTTPS everywhere). docs/operations.md lists
the variables.
"""

import os
import tempfile
from pathlib import Path

import environ
from csp import constants as _csp

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Test runs set DJANGO_ENV=test themselves (pyproject.toml's pytest `env`).
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise RuntimeError(f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}")
IS_PRODUCTION = DJANGO_ENV == "production"
IS_TEST = DJANGO_ENV == "test"

if IS_PRODUCTION:
    # No defaults here on purpose: a production server that silently ran with
    # a development key or an open host list would be worse than one that
    # refuses to start.
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    DEBUG = env.bool("DEBUG", default=False)
else:
    SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-development-only-key-0123456789abcdef")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
    # Off unless asked (`DEBUG=1 make run`): `make run` serves the site's own 404 and 500 pages, as production does.
    DEBUG = env.bool("DEBUG", default=False)

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "emomusic_site",
    "accounts",
    "catalog",
    "recommendations",
    "detection",
    "insights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything that reads a request's body (the CSRF check parses a form's).
    "emomusic_site.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "emomusic_site.middleware.RejectNulInAdminQueryMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "emomusic_site.middleware.PersonalAnswersNotCachedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "emomusic_site.urls"
WSGI_APPLICATION = "emomusic_site.wsgi.application"

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

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# A database restarted between requests must not cost the next request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A fresh clone has no var/ yet; SQLite cannot create the file without it.
    VAR_DIR.mkdir(exist_ok=True)
    # The web server and the worker write to the same file; wait for the
    # lock instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # A file, not memory, so that the Celery worker of the integration tests
    # sees the rows the tests write.
    # One file per test run, so that two runs side by side do not rebuild each other's.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.VisibleCharactersValidator"},
]
# The first stores new passwords (accounts.hashers says why); the others still read older ones.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if IS_TEST:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))

# Photos are private: MEDIA_ROOT is never mapped to a URL. They reach their
# owner only through a view that checks who is asking.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
if env.str("AWS_STORAGE_BUCKET_NAME", default=""):
    from botocore.config import Config as _S3ClientConfig

    _default_storage = {
        # S3Storage whose service errors are OSError/ConnectionError, as a disk's would be (see the module).
        "BACKEND": "emomusic_site.storage.S3PhotoStorage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            # Every photo's name is a fresh uuid4 (detection.models): asking the bucket whether the name is
            # taken would be a HEAD request for each upload (7 ms of the web's CPU) that never finds one.
            "file_overwrite": True,
            # botocore waits 60 s to connect, retried: an unreachable S3 would hold an upload for
            # minutes. Fail within seconds instead (the upload answers 503, the worker retries).
            "client_config": _S3ClientConfig(
                connect_timeout=3, read_timeout=20, retries={"mode": "standard", "max_attempts": 3}
            ),
        },
    }
else:
    _default_storage = {"BACKEND": "emomusic_site.storage.PhotoFileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Development and the tests serve static files straight from their sources, without collectstatic.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION

# An upload larger than this is refused before it is decoded (see detection.services).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# No uploaded file is stored past this many bytes (emomusic_site.uploads): the largest limit
# of any form, the catalog import's 50 MB. The forms refuse smaller files with their own limits.
UPLOAD_MAX_FILE_BYTES = 50_000_000
# The most a request's body may hold, refused from its Content-Length before anything reads it
# (emomusic_site.middleware): the cap above bounds one file, not a request of many, and the CSRF
# check spools a form's files to disk before it answers 403. Other requests carry at most form
# fields and JSON, already limited to DATA_UPLOAD_MAX_MEMORY_SIZE.
REQUEST_MAX_BYTES = 3 * 1024 * 1024
# The addresses that take files, each with room for its form's largest: a burst of 8 photos of
# 10 MB (detection.services.MAX_FRAMES, detection.images.MAX_UPLOAD_BYTES), and the catalog
# import's two files of 50 MB (catalog.admin.MAX_IMPORT_BYTES).
REQUEST_MAX_BYTES_BY_PATH = {
    "/api/detections/": 81 * 1024 * 1024,
    "/detections/new": 81 * 1024 * 1024,
    "/admin/catalog/song/import/": 101 * 1024 * 1024,
}
# Files in one request: the photo upload's burst of 8, and one more so that a client sending a
# ninth is told how many a burst takes; Django refuses more before storing any (answered 400).
DATA_UPLOAD_MAX_NUMBER_FILES = 9
# Photo decodes a web process runs at once (detection.images): bounds the memory many large uploads can take.
UPLOAD_DECODES_PER_PROCESS = env.int("UPLOAD_DECODES_PER_PROCESS", default=1)
FILE_UPLOAD_HANDLERS = [
    "emomusic_site.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.locmem.EmailBackend"
        if IS_TEST
        else "django.core.mail.backends.smtp.EmailBackend"
        if IS_PRODUCTION
        else "django.core.mail.backends.console.EmailBackend"
    ),
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="EmoMusic <noreply@localhost>")

CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://emomusic"),
    # Shared by every web process, and alive while Redis is down (see emomusic_site.ratelimit).
    "ratelimit": env.cache_url("RATELIMIT_CACHE_URL", default="dbcache://emomusic_ratelimit"),
}

# (attempts, window in seconds) per scope; 429 past them.
RATE_LIMITS_ENABLED = env.bool("RATE_LIMITS_ENABLED", default=True)
RATE_LIMITS = {
    "login_address": (env.int("RATE_LIMIT_LOGIN_PER_ADDRESS", default=30), 15 * 60),
    "signup_address": (env.int("RATE_LIMIT_SIGNUP_PER_ADDRESS", default=10), 60 * 60),
    "password_reset_address": (env.int("RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS", default=5), 60 * 60),
    "password_reset_email": (env.int("RATE_LIMIT_PASSWORD_RESET_PER_EMAIL", default=3), 60 * 60),
    "upload_user": (env.int("RATE_LIMIT_UPLOADS_PER_MINUTE", default=10), 60),
}
# Failed password checks per (account, address) before each further one doubles the wait (1 s, 2 s, 4 s, ...).
LOGIN_FREE_FAILURES = env.int("LOGIN_FREE_FAILURES", default=5)
# Failed password checks per account from every client together before the same doubling wait applies there
# (except at the clients where the account logged in lately); the wait never passes LOGIN_MAX_DELAY_SECONDS.
LOGIN_ACCOUNT_FREE_FAILURES = env.int("LOGIN_ACCOUNT_FREE_FAILURES", default=20)
LOGIN_MAX_DELAY_SECONDS = env.int("LOGIN_MAX_DELAY_SECONDS", default=15 * 60)
# Addresses or networks of the reverse proxies whose X-Forwarded-For is believed
# (emomusic_site.ratelimit.client_address). None by default: a client's own header is ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Redis and Celery -------------------------------------------------------
# Without REDIS_URL the project talks to the embedded redis-server that
# `make run` and the tests start on this unix socket.
# Each test run gets its own socket, so it never touches the one `make run`
# serves nor another run's (short path: unix sockets allow about 100 bytes).
REDIS_SOCKET = (
    Path(tempfile.gettempdir()) / f"emomusic-test-redis-{os.getpid()}.sock"
    if IS_TEST
    else VAR_DIR / "run" / "redis.sock"
)
REDIS_URL = env.str("REDIS_URL", default=f"redis+socket://{REDIS_SOCKET}")

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
# acks_late + reject_on_worker_lost: a worker killed mid-task leaves the
# message on the queue, so another worker runs it again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Pool processes load the LiteRT model and the face detector at start-up (worker_process_init);
# Celery's 4-second default would kill them mid-load on a busy machine, forever.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env.float("CELERY_WORKER_PROC_ALIVE_TIMEOUT", default=120.0)
# The worker runs at a lower CPU priority than the web process (niceness 10): where the two share cores, a
# page or a poll waits behind no photo, and a photo still gets every cycle the web leaves idle. 0 keeps the
# worker level with the web, as on a host of its own.
WORKER_NICENESS = env.int("WORKER_NICENESS", default=10)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish must fail fast when Redis is down, so the upload can answer 503
# instead of hanging the request.
#
# visibility_timeout: how long a message taken by a worker that then vanished
# (killed, machine lost) waits before Redis hands it to another worker. It must
# exceed the hard time limit plus the longest retry countdown, and stay well
# under the sweep's 5 minutes so that such a photo is analysed, not failed.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=150),
    # Look for such messages every 10 s. kombu's default scans on every 10th 10-s tick only, so
    # a lost photo could wait the visibility timeout plus 100 s (measured: a worker started 8 s
    # after the loss with a 10-s timeout never got the photo within 70 s).
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 1,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULE: dict = {
    # Fails detections stuck past the time limit and deletes photos past their retention.
    "detection-sweep": {"task": "detection.sweep", "schedule": 60.0},
}

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # drf-spectacular's, plus the error answers every view gives (emomusic_site.schema.AutoSchema).
    "DEFAULT_SCHEMA_CLASS": "emomusic_site.schema.AutoSchema",
    "EXCEPTION_HANDLER": "emomusic_site.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "emomusic_site.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "EmoMusic API",
    "DESCRIPTION": "Emotion-based music recommendations: selfies in, songs out.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- The emotion model ------------------------------------------------------
# The shipped model's `.keras` file: the worker loads the LiteRT export its model card names,
# the web process only reads the card.
EMOTION_MODEL_PATH = Path(
    env.str("EMOTION_MODEL_PATH", default=str(BASE_DIR / "ml" / "artifacts" / "emotion_model.keras"))
)

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the site's own fetch() calls read it for X-CSRFToken
CSRF_FAILURE_VIEW = "emomusic_site.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): the site's own files only. No inline scripts, styles or
# handlers anywhere (templates take classes and static files); data: images only on /api/docs/
# (Swagger UI's stylesheet, see emomusic_site/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_csp.SELF],
        # The mini-player is Spotify's embed, loaded only when the user presses play.
        "frame-src": ["https://open.spotify.com"],
        # blob: the preview of the photo chosen or taken, before it is uploaded (static/js/upload.js).
        "img-src": [_csp.SELF, "blob:"],
        "object-src": [_csp.NONE],
        "base-uri": [_csp.SELF],
        "form-action": [_csp.SELF],
        "frame-ancestors": [_csp.NONE],
    }
}
# Permissions-Policy (django-permissions-policy): the camera for this site's own pages only (the
# upload page's "Use my camera"); the microphone, location and the other features django-permissions-policy's
# strict example lists, for nobody (less ambient-light-sensor, which chromium does not recognise and warns
# about on every page). The Spotify player's iframe asks for the features in its `allow`
# (static/js/recommend.js): those are allowed for this site and Spotify's embed only.
_SPOTIFY_EMBED = "https://open.spotify.com"
PERMISSIONS_POLICY = {
    "camera": ["self"],
    "microphone": [],
    "geolocation": [],
    "accelerometer": [],
    "browsing-topics": [],
    "display-capture": [],
    "gyroscope": [],
    "interest-cohort": [],
    "magnetometer": [],
    "midi": [],
    "payment": [],
    "usb": [],
    "autoplay": ["self", _SPOTIFY_EMBED],
    "clipboard-write": ["self", _SPOTIFY_EMBED],
    "encrypted-media": ["self", _SPOTIFY_EMBED],
    "fullscreen": ["self", _SPOTIFY_EMBED],
    "picture-in-picture": ["self", _SPOTIFY_EMBED],
}
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe over plain HTTP: a 301 would hide the 503 of a broken instance.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
