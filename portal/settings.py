"""Settings come from the environment only; README.md lists every variable."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from certificates.keystore import KeyRing
from portal.environment import (
    envbool,
    envint,
    envlist,
    envproxies,
    envsecret,
    new_secret_key,
    private_file,
    touch_private,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PORTAL_DATA_DIR") or BASE_DIR / "var").resolve()

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envsecret("DJANGO_SECRET_KEY") or private_file(DATA_DIR / "secret_key", new_secret_key)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

# Private keys are encrypted under this key ring (newest key first). Without one the portal
# does not start; on a first run without PORTAL_KEYRING it is generated into the data directory.
PORTAL_KEYRING = envsecret("PORTAL_KEYRING") or private_file(
    DATA_DIR / "keyring", KeyRing.generate_entry
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "audit",
    "accounts",
    "certificates",
    "apis",
    "gateway",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.sessions.SessionRefreshMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.origins.SameOriginMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before anything reads a body: a large one is refused unless somebody signed in.
    "portal.anonymous_body_limit.AnonymousBodyLimitMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its own answer.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling: after this many failures for one username from one address, that pair
# is locked out for the cool-off time; a success resets the count.
AXES_FAILURE_LIMIT = envint("PORTAL_SIGNIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("PORTAL_SIGNIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Behind a load balancer REMOTE_ADDR is the balancer: trust its X-Forwarded-For instead, so a
# lockout (and the audit log) names the real client. None trusted by default.
PORTAL_TRUSTED_PROXIES = envproxies("PORTAL_TRUSTED_PROXIES")
AXES_CLIENT_IP_CALLABLE = "audit.trail.source_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "django.template.context_processors.csp",
                "gateway.context.gateway_base_url",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    # SQLite gives its -wal and -shm files the mode of the database file: create it private.
    # SQLITE_PATH names another file (the gateway's test server uses the tests' database).
    sqlite_path = touch_private(Path(os.environ.get("SQLITE_PATH") or DATA_DIR / "portal.sqlite3"))
    # Several gunicorn workers write to one SQLite file: WAL lets readers run beside a
    # writer, IMMEDIATE transactions take the write lock up front (no upgrade deadlock),
    # and the timeout makes a writer wait instead of failing with "database is locked".
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": sqlite_path,
            # Tests use a file too, so they meet the same locking as several workers do; one
            # per test run, so that two runs side by side do not share it.
            "TEST": {"NAME": DATA_DIR / f"test-{os.getpid()}.sqlite3"},
            # Each worker thread keeps its connection between requests, as with PostgreSQL:
            # opening one (and its PRAGMAs, and the functions Django registers) costs about
            # half a millisecond a request.
            "CONN_MAX_AGE": 60,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": envint("SQLITE_TIMEOUT", 20, minimum=1),
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("PORTAL_SESSION_IDLE_SECONDS", 8 * 3600, minimum=60)
# A session in use is kept alive by portal.sessions.SessionRefreshMiddleware, which writes it
# at most once a minute rather than on every request (SESSION_SAVE_EVERY_REQUEST).
SESSION_REFRESH_SECONDS = 60
# Pages carry the CSRF token themselves (hx-headers, forms): no script needs the cookie, and a
# script on another port of the same host (the gateway's) cannot read it.
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

PORTAL_HTTPS = envbool("PORTAL_HTTPS", False)
if PORTAL_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("PORTAL_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# No inline scripts or styles anywhere: every script and stylesheet comes from our origin.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}

# Uploads stay in memory (a PFX is small and must never touch the disk); bigger bodies are refused.
FILE_UPLOAD_HANDLERS = ["portal.uploads.BoundedMemoryUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 512 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Before sign-in (no session user, no API token) a body may not be larger than this.
ANONYMOUS_MAX_BODY_BYTES = 64 * 1024

# Uploaded certificate files are opened in helper processes (certificates/parsing.py): the time
# one file may take (wall clock and CPU) before it is refused, and helpers per server process.
PORTAL_UPLOAD_PARSE_SECONDS = envint("PORTAL_UPLOAD_PARSE_SECONDS", 10, minimum=1)
PORTAL_UPLOAD_PARSE_HELPERS = envint("PORTAL_UPLOAD_PARSE_HELPERS", 2, minimum=1)

# Where people and callers reach each plane, for links, notifications and the ARM service
# resource: the portal, and the gateway on its own origin (its own host name in production).
PORTAL_BASE_URL = os.environ.get(
    "PORTAL_BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
).rstrip("/")
GATEWAY_BASE_URL = os.environ.get(
    "GATEWAY_BASE_URL", f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8001')}"
).rstrip("/")

# The gateway: how long a back end may take, and the largest request body it forwards.
GATEWAY_TIMEOUT_SECONDS = envint("PORTAL_GATEWAY_TIMEOUT", 30, minimum=1)
GATEWAY_MAX_BODY_BYTES = envint("PORTAL_GATEWAY_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be a logging level name, not {LOG_LEVEL!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"refusals_on_one_line": {"()": "portal.log_filters.RefusalsOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["refusals_on_one_line"]},
        # httpx logs every request at INFO; the gateway logs each call itself, with its id.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # The gateway logs each call itself, with its id; uvicorn's access log is off.
        "uvicorn.error": {"level": "WARNING"},
    },
}
