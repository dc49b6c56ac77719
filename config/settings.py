"""Once's settings: one module, driven by environment variables (see README, "Configuration").

With nothing set, Once runs embedded: SQLite in the project folder and Celery tasks executed
in-process. DATABASE_URL and CELERY_BROKER_URL switch to the production shape.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choices,
    env_int,
    env_json_object,
    env_list,
    env_str,
    env_url,
    env_weekly,
    runs_offline_command,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)

_database_url = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"

# The secret key signs sessions, CSRF tokens and password-reset links: it matters to a process
# that serves people. So a real one is required whenever debug is off, except for a management
# command on the embedded SQLite database that serves nothing (import, export, tokens, load_demo,
# migrate…): there the README's commands work as written from a fresh shell. A server (gunicorn,
# runserver), a Celery worker, `check --deploy`, and anything on PostgreSQL still refuse to start
# without one.
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or (_database_url.startswith("sqlite:") and runs_offline_command())):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    # Fixed, so sessions survive restarts of `make run`; check --deploy flags its prefix.
    SECRET_KEY = "django-insecure-development-key-only-used-while-debug-is-on"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "common",  # before WhiteNoise: its runserver (common/management/commands) wins
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # Django's own form templates, found by our FORM_RENDERER
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "simple_history",
    "axes",
    "accounts",
    "incidents",
    "remediations",
    "gamedays",
    "reviews",
    "reports",
    "search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The audit log learns the request's address and user here (common/audit.py).
    "common.middleware.AuditContextMiddleware",
    # A read-only request works out who may see which failure modes once (common/middleware.py).
    "common.middleware.ReadOnlyRequestMemoMiddleware",
    # Cache-Control: no-store on every response to a signed-in user (common/middleware.py).
    "common.middleware.NoStoreMiddleware",
    # Slides a signed-in session's expiry forward (ONCE_SESSION_IDLE_MINUTES).
    "accounts.sessions.IdleTimeoutMiddleware",
    # Every page needs a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "csp.context_processors.nonce",
                "common.permissions.roles",
            ],
            "builtins": ["common.templatetags.once"],
        },
    },
]

FORM_RENDERER = "common.forms.OnceFormRenderer"

# --- Database --------------------------------------------------------------------------------
try:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
except ValueError as error:
    raise ImproperlyConfigured(
        f"DATABASE_URL is not a database URL Once understands: {error}"
    ) from None
if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
):
    raise ImproperlyConfigured(
        "DATABASE_URL must point at PostgreSQL (postgres://…) or SQLite (sqlite:///…)."
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that accepts connections but never completes them (overloaded, or a network
    # that drops packets) must not hang a request: /healthz answers 503 within 5 s. A
    # `?connect_timeout=` in DATABASE_URL overrides it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)


# A PostgreSQL read replica (streaming replication of DATABASE_URL's database) for search reads:
# the ranking, count, typo-fix and snippet queries of /search/ and /api/search/. Everything
# else, and every write, stays on DATABASE_URL (search/routing.py; docs/operations.md,
# "A read replica for search").
_replica_url = env_str("DATABASE_REPLICA_URL")
if _replica_url:
    try:
        DATABASES["replica"] = dj_database_url.parse(_replica_url, conn_max_age=60)
    except ValueError as error:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URL is not a database URL Once understands: {error}"
        ) from None
    if not (
        DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql"
        and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    ):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must point at PostgreSQL (postgres://…), and DATABASE_URL too."
        )
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
DATABASE_ROUTERS = ["search.routing.SearchReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication --------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Single sign-on first: it acts only on the OpenID Connect callback (accounts/oidc.py), and
    # answering there before django-axes is what lets a locked-out account still sign in by SSO.
    "accounts.oidc.OidcBackend",
    # django-axes next, so a locked-out username+address is refused before the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incident_list"
LOGOUT_REDIRECT_URL = "login"
# A password-reset link works for this long (Django's default is 3 days).
PASSWORD_RESET_TIMEOUT = env_int("ONCE_PASSWORD_RESET_HOURS", 24, minimum=1, maximum=168) * 3600

# Sessions end after this long without a request (accounts/sessions.py slides the expiry
# forward as people work, writing the session at most every few minutes).
ONCE_SESSION_IDLE_MINUTES = env_int("ONCE_SESSION_IDLE_MINUTES", 480, minimum=5, maximum=43_200)
SESSION_COOKIE_AGE = ONCE_SESSION_IDLE_MINUTES * 60

# Login rate limit: after 5 failures for one username from one address, that pair waits 15 min.
# The address is the client's (common/clientip.py): behind the documented proxy, the one the
# proxy saw, so failures from one desk can't lock a colleague out of theirs.
AXES_FAILURE_LIMIT = env_int("ONCE_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "common.clientip.client_address"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# OpenID Connect single sign-on (accounts/oidc.py). Unset issuer: local accounts only. The
# provider's endpoints come from its discovery document, fetched on the first sign-in, unless
# all four are given here.
ONCE_OIDC_ISSUER = env_url("ONCE_OIDC_ISSUER")
ONCE_OIDC_CLIENT_ID = env_str("ONCE_OIDC_CLIENT_ID")
ONCE_OIDC_CLIENT_SECRET = env_str("ONCE_OIDC_CLIENT_SECRET")
# Space- or comma-separated, as providers' documentation writes them either way.
ONCE_OIDC_SCOPES = " ".join(
    env_str("ONCE_OIDC_SCOPES", "openid email profile").replace(",", " ").split()
)
ONCE_OIDC_SIGN_ALGO = env_str("ONCE_OIDC_SIGN_ALGO", "RS256")
ONCE_OIDC_CREATE_USERS = env_bool("ONCE_OIDC_CREATE_USERS", default=True)
ONCE_OIDC_ENDPOINTS = {
    name: env_url(f"ONCE_OIDC_{name.upper()}")
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
}
if ONCE_OIDC_ISSUER:
    for _name in ("ONCE_OIDC_CLIENT_ID", "ONCE_OIDC_CLIENT_SECRET"):
        if not globals()[_name]:
            raise ImproperlyConfigured(
                f"{_name} must be set when ONCE_OIDC_ISSUER is (the client registered with "
                "the OpenID provider)."
            )
    if "openid" not in ONCE_OIDC_SCOPES.split():
        raise ImproperlyConfigured(
            f"ONCE_OIDC_SCOPES must include openid, not {ONCE_OIDC_SCOPES!r}."
        )
    if ONCE_OIDC_SIGN_ALGO not in {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}:
        raise ImproperlyConfigured(
            "ONCE_OIDC_SIGN_ALGO must be one of RS256, RS384, RS512, ES256, ES384 or ES512, "
            f"not {ONCE_OIDC_SIGN_ALGO!r}."
        )
    _missing = [name for name, url in ONCE_OIDC_ENDPOINTS.items() if not url]
    if 0 < len(_missing) < len(ONCE_OIDC_ENDPOINTS):
        raise ImproperlyConfigured(
            f"ONCE_OIDC_{_missing[0].upper()} must be set when another ONCE_OIDC_* endpoint is "
            "(give all four, or none to read them from the issuer's discovery document)."
        )
else:
    _given = {
        "ONCE_OIDC_CLIENT_ID": ONCE_OIDC_CLIENT_ID,
        "ONCE_OIDC_CLIENT_SECRET": ONCE_OIDC_CLIENT_SECRET,
    }
    _given |= {f"ONCE_OIDC_{name.upper()}": url for name, url in ONCE_OIDC_ENDPOINTS.items()}
    for _name, _value in _given.items():
        if _value:
            raise ImproperlyConfigured(
                f"ONCE_OIDC_ISSUER must be set when {_name} is (the provider's issuer URL, "
                "e.g. https://login.example.com/realms/staff)."
            )

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True  # htmx reads the token from the page, never from the cookie
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy, set DJANGO_SECURE_PROXY_SSL_HEADER=on.
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=False)
# Preloading binds the whole domain and its subdomains to HTTPS for years: the domain owner's
# decision (DJANGO_HSTS_PRELOAD=on), not a default. Hence the one silenced deploy check.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# Content-Security-Policy: no inline scripts or styles anywhere; everything comes from /static/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Images load only from Once itself (PRODUCT.md); data: is for the API docs' icons.
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Uploaded pictures: a folder (MEDIA_ROOT) unless ONCE_MEDIA_STORAGE names another Django
    # storage backend, such as django-storages' S3 (docs/operations.md, "Pictures").
    "default": {
        "BACKEND": env_str("ONCE_MEDIA_STORAGE", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env_json_object("ONCE_MEDIA_STORAGE_OPTIONS"),
    },
    "staticfiles": {
        # Hashed, compressed files served forever by WhiteNoise; needs collectstatic first.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}

# Uploaded pictures (incidents/images.py) go to the "default" storage above: this folder unless
# ONCE_MEDIA_STORAGE says otherwise. Never served from a public URL: /incidents/images/… checks
# who may see the incident, so MEDIA_URL stays unset and nothing serves MEDIA_ROOT.
MEDIA_ROOT = env_str("ONCE_MEDIA_ROOT", str(BASE_DIR / "media"))

# --- Internationalisation and time -----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Mail ------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "once@localhost")

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
# Without a broker the same tasks run in-process, so the embedded `make run` behaves fully.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # In-process tasks need no broker, yet Celery still acquires a producer: kombu's in-memory
    # transport keeps it from reaching for (and warning about) an AMQP broker on localhost.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# A save must not wait on an absent broker: fail fast, and let the reconciliation catch up.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    # With late acknowledgement, a task whose worker died is delivered again after this.
    "visibility_timeout": env_int("ONCE_TASK_VISIBILITY_TIMEOUT", 600),
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A number of days the engine adds to or subtracts from a date (times are kept from 1970 to
# 2100): more would overflow Python's dates in every reconciliation.
MAX_DAYS = 36_500
# How often beat runs the reconciliation that applies any event a missing broker dropped.
ONCE_RECONCILE_SECONDS = env_int("ONCE_RECONCILE_SECONDS", 600, minimum=1)
# When beat sends the weekly review digest (and reminds owners of overdue remediations).
ONCE_DIGEST_DAY, ONCE_DIGEST_HOUR, ONCE_DIGEST_MINUTE = env_weekly("ONCE_DIGEST_AT", "mon 08:00")
# Who gets the digest by email; empty: every active user with an email address.
ONCE_DIGEST_RECIPIENTS = env_list("ONCE_DIGEST_RECIPIENTS", "")
# Remediation kinds whose promise a recurrence breaks (PRODUCT.md, "Flag recurrence after a
# fix"): a *detect* or *process* fix being done says nothing about whether the mode comes back.
ONCE_RECURRENCE_KINDS = env_choices(
    "ONCE_RECURRENCE_KINDS", "prevent,mitigate", ["prevent", "mitigate", "detect", "process"]
)
# Days without recurrence after which a done fix counts as *holding*.
ONCE_HOLDING_DAYS = env_int("ONCE_HOLDING_DAYS", 90, minimum=1, maximum=MAX_DAYS)
# The periodic reconciliation looks at rows changed since its last run; once a day it looks at
# everything (what an incremental pass cannot see: rows deleted by hand, clock skew).
ONCE_FULL_RECONCILE_HOUR = env_int("ONCE_FULL_RECONCILE_HOUR", 3, minimum=0, maximum=23)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "reconcile-recurrences": {
        "task": "remediations.tasks.reconcile_recurrences",
        "schedule": float(ONCE_RECONCILE_SECONDS),
    },
    "reconcile-recurrences-fully": {
        "task": "remediations.tasks.reconcile_recurrences",
        "schedule": crontab(hour=ONCE_FULL_RECONCILE_HOUR, minute=17),
        "kwargs": {"full": True},
    },
    "weekly-review-digest": {
        "task": "reviews.tasks.send_weekly_digest",
        "schedule": crontab(
            day_of_week=ONCE_DIGEST_DAY, hour=ONCE_DIGEST_HOUR, minute=ONCE_DIGEST_MINUTE
        ),
    },
    # Daily, so a remediation that falls overdue mid-week is reminded that week (once).
    "overdue-remediation-reminders": {
        "task": "reviews.tasks.remind_overdue_owners",
        "schedule": crontab(hour=ONCE_DIGEST_HOUR, minute=ONCE_DIGEST_MINUTE),
    },
    # Notifications the broker never carried, retries whose time has come, and any a crashed
    # worker left half-sent (common/notifications.py): none is lost, each goes out once.
    "send-due-notifications": {
        "task": "common.tasks.send_due_notifications",
        "schedule": 60.0,
    },
    # Pictures uploaded for a new incident that was never saved (incidents/images.py).
    "delete-abandoned-images": {
        "task": "incidents.tasks.delete_abandoned_images",
        "schedule": crontab(hour=ONCE_FULL_RECONCILE_HOUR, minute=41),
    },
}

ONCE_WEBHOOK_URL = env_str("ONCE_WEBHOOK_URL")
# Recurrence flags of incidents older than this are raised but not announced (imports of old
# postmortems would otherwise email everyone about years-old recurrences).
ONCE_NOTIFY_WITHIN_DAYS = env_int("ONCE_NOTIFY_WITHIN_DAYS", 30, minimum=0, maximum=MAX_DAYS)
# Where people reach Once: used for links in notifications.
ONCE_BASE_URL = env_str("ONCE_BASE_URL", "http://127.0.0.1:8000")

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API call then gets 401 with `WWW-Authenticate: Token`.
    # Keys are stored hashed, expire and can be revoked (accounts.models.ApiToken).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every active user reads, viewers only read, staff delete (common/permissions.py): the
    # default, so no viewset can forget it.
    "DEFAULT_PERMISSION_CLASSES": ["common.permissions.RolePermission"],
    # JSON in, JSON out: nested causes and timelines don't fit form encoding, and the
    # browsable API's inline scripts would break our CSP. People use /api/docs/.
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "common.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "common.api.api_exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Once API",
    "DESCRIPTION": "The incident knowledge base: incidents, failure categories, remediations.",
    "VERSION": "1",
    # Swagger UI and Redoc from the drf-spectacular-sidecar package: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.IncidentStatus",
        "RemediationStatusEnum": "remediations.models.RemediationStatus",
        "FlagStateEnum": "remediations.models.FlagState",
    },
}

# --- Once ------------------------------------------------------------------------------------
# Largest incident report body accepted, in characters (about 200 pages of text).
ONCE_MAX_REPORT_CHARS = env_int("ONCE_MAX_REPORT_CHARS", 200_000)
# The edit form of an incident with the most causes, timeline entries and new remediations
# (incidents/records.py) sends about 3,000 fields; Django's default of 1,000 would refuse it.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# A search the database has worked on this long is cancelled and answered "narrow it" (503).
ONCE_SEARCH_TIMEOUT_MS = env_int("ONCE_SEARCH_TIMEOUT_MS", 3000)
# PostgreSQL: find candidates and check phrases with the RUM index when it exists (search/rum.py).
# Off forces the plain path that servers without the extension take (tests use it).
ONCE_SEARCH_RUM = env_bool("ONCE_SEARCH_RUM", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # django-axes logs every failed login at INFO; lockouts are WARNING and still show.
        "axes": {"level": "WARNING"},
        # In-process tasks would log a line per task into the terminal of `make run`; their
        # failures are ERROR and still show. A real worker logs them as usual.
        **({"celery.app.trace": {"level": "WARNING"}} if CELERY_TASK_ALWAYS_EAGER else {}),
        # runserver's "Watching for file changes": the first run's terminal stays quiet.
        "django.utils.autoreload": {"level": "WARNING"},
    },
}
