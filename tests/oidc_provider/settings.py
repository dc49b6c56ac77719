"""A tiny OpenID provider for the single sign-on tests: django-oauth-toolkit in OIDC mode.

It runs in its own process (tests/oidc_provider/fixture.py starts it on a free port), with its
own SQLite database and an RSA key made for the test run, both named by environment variables.
Nothing here is Once's: it stands for a company's sign-on service.
"""

import os
from pathlib import Path

SECRET_KEY = "test-provider-secret-key-signs-only-this-provider-s-sessions"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
    "tests.oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.oidc_provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("ONCE_TEST_PROVIDER_DB", ":memory:"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
LOGIN_URL = "/login/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # test speed only
_key_file = os.environ.get("ONCE_TEST_PROVIDER_KEY_FILE")
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": Path(_key_file).read_text() if _key_file else "",
    "OAUTH2_VALIDATOR_CLASS": "tests.oidc_provider.validator.Validator",
    "SCOPES": {"openid": "Who you are", "email": "Your email", "profile": "Your name"},
    "PKCE_REQUIRED": True,
    # Once under test is served over plain HTTP on this machine.
    "ALLOWED_SCHEMES": ["http", "https"],
    # The browser test's live server listens on localhost at a port chosen at run time.
    "ALLOW_LOCALHOST_LOOPBACK": True,
}
