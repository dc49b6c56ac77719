"""Where a request comes from: the one definition, for the login lockout and the audit log.

Behind the documented TLS-terminating proxy (`DJANGO_SECURE_PROXY_SSL_HEADER=on`, which sets
`SECURE_PROXY_SSL_HEADER`), every request arrives from the proxy's address, so the client is
the address the proxy appended last to `X-Forwarded-For`. Without a proxy that header is
whatever the client typed, so it is ignored and the socket's address is the client.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    """The client's IP address as text ("203.0.113.7", "2001:db8::1"), or "" if unknown.

    Only the last `X-Forwarded-For` hop is trusted: the one our proxy added. Earlier hops are
    the client's own claims (RFC 7239 §7.4 discusses why they can't be trusted).
    """
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop for hop in forwarded.split(",") if hop.strip()]
        if hops and (address := _address(hops[-1])):
            return address
    return _address(request.META.get("REMOTE_ADDR", "")) or ""
