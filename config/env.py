"""Reading configuration from the environment, failing with one clear sentence."""

import json
import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# The arguments of the management command this process runs, set by manage.py before Django
# loads the settings; None when the process was started otherwise (gunicorn, Celery, pytest).
management_argv: list[str] | None = None

# Commands that serve requests or judge a deployment: they always need a real secret key.
SERVING_COMMANDS = {"runserver", "testserver"}


def runs_offline_command() -> bool:
    """True for a management command that serves nothing: import, export, tokens, migrate…"""
    if not management_argv:
        return False
    command, options = management_argv[0], management_argv[1:]
    if command in SERVING_COMMANDS:
        return False
    return not (command == "check" and "--deploy" in options)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of on/off, true/false, yes/no or 1/0, not {raw!r}."
    )


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = (
            f"from {minimum} to {maximum}" if minimum is not None and maximum is not None
            else f"at least {minimum}" if minimum is not None else f"at most {maximum}"
        )  # fmt: skip
        raise ImproperlyConfigured(f"{name} must be a whole number {bounds}, not {raw!r}.")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_choices(name: str, default: str, choices: list[str]) -> list[str]:
    """A comma-separated subset of `choices`, e.g. "prevent,mitigate"; empty means none."""
    values = [item.lower() for item in env_list(name, default)]
    unknown = [value for value in values if value not in choices]
    if unknown:
        raise ImproperlyConfigured(
            f"{name} must be a comma-separated list of {', '.join(choices)}, "
            f"not {os.environ.get(name, default)!r}."
        )
    return sorted(set(values), key=choices.index)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_json_object(name: str) -> dict[str, Any]:
    """A JSON object (`{"bucket_name": "once"}`); `{}` when unset or empty."""
    raw = env_str(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f'{name} must be a JSON object such as {{"key": "value"}}.')
    return value


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def env_weekly(name: str, default: str) -> tuple[str, int, int]:
    """ "mon 08:30" → ("mon", 8, 30): a weekday and a 24-hour time, in TIME_ZONE."""
    raw = os.environ.get(name, default).strip()
    parts = raw.lower().split()
    try:
        day, clock = parts
        hour, minute = (int(p) for p in clock.split(":"))
        if day[:3] not in WEEKDAYS or not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a weekday and a 24-hour time like 'mon 08:30', not {raw!r}."
        ) from None
    return day[:3], hour, minute


_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def env_url(name: str) -> str:
    """An https:// URL (http:// only on this machine: a provider run for development or tests),
    without a query or fragment; "" when unset."""
    from urllib.parse import urlsplit

    raw = env_str(name)
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        host = parts.hostname
    except ValueError:
        host = None
    if (
        host is None
        or parts.query
        or parts.fragment
        or not (parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK_HOSTS))
    ):
        raise ImproperlyConfigured(
            f"{name} must be an https:// URL without query or fragment "
            f"(http:// only for localhost), not {raw!r}."
        )
    return raw
