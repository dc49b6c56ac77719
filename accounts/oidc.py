"""OpenID Connect single sign-on, on mozilla-django-oidc (authorization code flow with PKCE).

Configured by `ONCE_OIDC_*` (config/settings.py, docs/operations.md). Unset issuer: the views
answer 404, the backend never acts, and the login page shows no single sign-on button.

The provider's endpoints come from `<issuer>/.well-known/openid-configuration`, fetched on the
first sign-in (not at start-up: Once starts while the provider is down) and kept by the process;
or all four are given explicitly. The library reads its settings through `get_settings`, so
the classes below answer it from ours.

Who signs in (`OidcBackend.match_user`), safest first:

1. The account already bound to this issuer and subject (`SingleSignOnIdentity`): the `sub`
   claim is the one identifier a provider never reassigns.
2. Else the one active account whose email equals the provider's email, **only when the
   provider says `email_verified: true`** — an unverified address proves nothing, so it can't
   take over anyone's account, an administrator's included. The account is then bound.
3. Else, with `ONCE_OIDC_CREATE_USERS` (default on), a new account: an ordinary writer, no
   staff rights, no usable password, named after `preferred_username` if that name is free
   (a taken name is never matched: it gets a suffix), else the email's local part.

Anything else (two accounts share the email, the account is inactive or already bound to
another subject, the claims disagree) refuses the sign-in with a message on the login page.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.models import SingleSignOnIdentity

log = logging.getLogger(__name__)

# Seconds to wait for the provider on each call (discovery, token, user info, keys).
TIMEOUT = 10


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be had, or does not describe our issuer."""


def is_configured() -> bool:
    return bool(settings.ONCE_OIDC_ISSUER)


@dataclass(frozen=True)
class Provider:
    """Where the provider's endpoints are."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    # RFC 8414/OIDC Discovery default: client_secret_basic unless the provider lists only _post.
    token_auth_basic: bool = True


_discovered: dict[str, Provider] = {}
_discovery_lock = threading.Lock()


def forget_provider() -> None:
    """Drop what discovery learnt (tests; a provider that moved is picked up on restart)."""
    with _discovery_lock:
        _discovered.clear()


def provider() -> Provider:
    """The configured provider's endpoints: explicit ones, else its discovery document.

    Raises ProviderUnavailable when the document can't be fetched, isn't JSON, lacks an
    endpoint, or names another issuer (OpenID Connect Discovery 1.0 §4.3: it must be ours
    exactly, or a look-alike host could hand out endpoints of its own).
    """
    issuer = settings.ONCE_OIDC_ISSUER
    explicit = settings.ONCE_OIDC_ENDPOINTS
    if all(explicit.values()):
        return Provider(
            issuer=issuer,
            authorization_endpoint=explicit["authorization_endpoint"],
            token_endpoint=explicit["token_endpoint"],
            userinfo_endpoint=explicit["userinfo_endpoint"],
            jwks_uri=explicit["jwks_uri"],
        )
    with _discovery_lock:
        if issuer in _discovered:
            return _discovered[issuer]
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise ProviderUnavailable(f"{url} did not answer with a discovery document") from error
        if not isinstance(document, dict) or document.get("issuer") != issuer:
            raise ProviderUnavailable(f"{url} describes another issuer than ONCE_OIDC_ISSUER")
        names = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
        if not all(isinstance(document.get(name), str) for name in names):
            raise ProviderUnavailable(f"{url} lacks one of {', '.join(names)}")
        methods = document.get("token_endpoint_auth_methods_supported") or []
        found = Provider(
            issuer=issuer,
            **{name: document[name] for name in names},
            token_auth_basic=not methods or "client_secret_basic" in methods,
        )
        _discovered[issuer] = found
        return found


def library_setting(name: str, *default: Any) -> Any:
    """mozilla-django-oidc's setting `name`, answered from Once's (see the module docstring)."""
    ours: dict[str, Any] = {
        "OIDC_RP_CLIENT_ID": lambda: settings.ONCE_OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": lambda: settings.ONCE_OIDC_CLIENT_SECRET,
        "OIDC_RP_SCOPES": lambda: settings.ONCE_OIDC_SCOPES,
        "OIDC_RP_SIGN_ALGO": lambda: settings.ONCE_OIDC_SIGN_ALGO,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": lambda: provider().authorization_endpoint,
        "OIDC_OP_TOKEN_ENDPOINT": lambda: provider().token_endpoint,
        "OIDC_OP_USER_ENDPOINT": lambda: provider().userinfo_endpoint,
        "OIDC_OP_JWKS_ENDPOINT": lambda: provider().jwks_uri,
        "OIDC_TOKEN_USE_BASIC_AUTH": lambda: provider().token_auth_basic,
        "OIDC_CREATE_USER": lambda: settings.ONCE_OIDC_CREATE_USERS,
        "OIDC_USE_PKCE": lambda: True,
        "OIDC_USE_NONCE": lambda: True,
        "OIDC_TIMEOUT": lambda: TIMEOUT,
        "OIDC_AUTHENTICATION_CALLBACK_URL": lambda: "oidc_callback",
        # The provider's tokens are not kept: Once needs only who signed in.
        "OIDC_STORE_ACCESS_TOKEN": lambda: False,
        "OIDC_STORE_ID_TOKEN": lambda: False,
        "OIDC_ALLOW_UNSECURED_JWT": lambda: False,
    }
    if name in ours:
        return ours[name]()
    return import_from_settings(name, *default)


def _fail(request: HttpRequest, reason: str) -> HttpResponseRedirect:
    messages.error(request, f"Single sign-on failed: {reason}.")
    return HttpResponseRedirect(reverse("login"))


class OidcBackend(OIDCAuthenticationBackend):
    """Signs in the person the provider vouches for; acts only on Once's OIDC callback."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads every endpoint here; Django builds a backend for each request's
        # session lookup, so nothing may be fetched until a sign-in actually happens.
        self.UserModel = get_user_model()

    get_settings = staticmethod(library_setting)

    # The library reads these as attributes; each is looked up when a sign-in needs it.
    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: provider().token_endpoint)
    OIDC_OP_USER_ENDPOINT = property(lambda self: provider().userinfo_endpoint)
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: provider().jwks_uri)
    OIDC_RP_CLIENT_ID = property(lambda self: settings.ONCE_OIDC_CLIENT_ID)
    OIDC_RP_CLIENT_SECRET = property(lambda self: settings.ONCE_OIDC_CLIENT_SECRET)
    OIDC_RP_SIGN_ALGO = property(lambda self: settings.ONCE_OIDC_SIGN_ALGO)
    OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> User | None:
        # Only the callback passes a nonce; a password login must never reach the provider.
        if request is None or "nonce" not in credentials or not is_configured():
            return None
        user: User | None = super().authenticate(request, **credentials)
        return user

    def get_user(self, user_id: Any) -> User | None:
        # The library's own returns deactivated accounts too: a person deactivated after
        # signing in by single sign-on would keep their session. Django's refuses them.
        user: User | None = ModelBackend.get_user(self, user_id)
        return user

    def _verify_jws(self, payload: bytes | str, key: Any) -> dict[str, Any]:
        """The ID token's signature, and that it was issued by our issuer for our client
        (OpenID Connect Core §3.1.3.7; the library checks neither `iss` nor `aud`)."""
        algorithm = settings.ONCE_OIDC_SIGN_ALGO
        try:
            if jwt.get_unverified_header(payload).get("alg") != algorithm:
                raise SuspiciousOperation(f"the ID token is not signed with {algorithm}")
            claims: dict[str, Any] = jwt.decode(
                payload,
                key,
                algorithms=[algorithm],
                audience=settings.ONCE_OIDC_CLIENT_ID,
                issuer=settings.ONCE_OIDC_ISSUER,
                options={"require": ["iss", "aud", "exp", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise SuspiciousOperation(f"the ID token does not verify ({error})") from error
        return claims

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> User | None:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core §5.3.2: user info about another subject must not be used.
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("the user info names another subject than the ID token")
        return self.match_user({**payload, **userinfo})

    @transaction.atomic
    def match_user(self, claims: dict[str, Any]) -> User | None:
        """The account these verified claims sign in to (module docstring), or None (the
        reason goes to the login page)."""
        issuer, subject = settings.ONCE_OIDC_ISSUER, str(claims.get("sub") or "")
        if not subject:
            raise SuspiciousOperation("the provider sent no subject")
        identity = (
            SingleSignOnIdentity.objects.select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        if identity is not None:
            if not identity.user.is_active:
                return self._refuse("your Once account is deactivated")
            identity.last_login_at = timezone.now()
            identity.save(update_fields=["last_login_at"])
            return identity.user

        # Some providers send the flag as the string "true".
        verified = claims.get("email_verified") in (True, "true")
        email = claims.get("email") if verified else None
        if isinstance(email, str) and email:
            owners = list(self.UserModel.objects.filter(email__iexact=email))
            if len(owners) > 1:
                return self._refuse("more than one Once account has your email address")
            if owners:
                user = owners[0]
                if not user.is_active:
                    return self._refuse("your Once account is deactivated")
                if user.sso_identities.filter(issuer=issuer).exists():
                    return self._refuse("your Once account is bound to another identity")
                return self._bind(user, issuer, subject)
        if not settings.ONCE_OIDC_CREATE_USERS:
            return self._refuse("no Once account has your verified email address")
        username = self._free_username(claims)
        # No password: this account signs in by single sign-on (a reset can't give it one).
        user = self.UserModel.objects.create_user(username, email=email or "")
        return self._bind(user, issuer, subject)

    def _bind(self, user: User, issuer: str, subject: str) -> User:
        try:
            with transaction.atomic():
                SingleSignOnIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        except IntegrityError:  # the same person's second tab won the race: theirs binds
            pass
        return user

    def _refuse(self, reason: str) -> User | None:
        # The callback view shows it (it runs on the same request).
        self.request.once_sso_refusal = reason
        log.warning("Single sign-on refused: %s", reason)
        return None

    def _free_username(self, claims: dict[str, Any]) -> str:
        """`preferred_username`, else the email's local part, else `sso-user`: reduced to the
        characters Django allows in a username, with -2, -3… while that name is taken."""
        candidates = [
            claims.get("preferred_username"),
            str(claims.get("email") or "").split("@")[0],
        ]
        base = next(
            (
                cleaned
                for cleaned in (re.sub(r"[^\w.@+-]", "", str(c or ""))[:140] for c in candidates)
                if cleaned
            ),
            "sso-user",
        )
        name, n = base, 1
        while self.UserModel.objects.filter(username__iexact=name).exists():
            n += 1
            name = f"{base}-{n}"
        return name


class OidcStartView(OIDCAuthenticationRequestView):
    """/oidc/authenticate/: off to the provider, with state, nonce and a PKCE challenge."""

    get_settings = staticmethod(library_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not is_configured():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider().authorization_endpoint
        except ProviderUnavailable as error:
            log.error("Single sign-on unavailable: %s", error)
            return _fail(request, "the sign-on service can't be reached right now")
        self.OIDC_RP_CLIENT_ID = settings.ONCE_OIDC_CLIENT_ID
        response: HttpResponse = super().get(request)
        return response


class OidcCallbackView(OIDCAuthenticationCallbackView):
    """/oidc/callback/: the provider sends the person back here with a code."""

    get_settings = staticmethod(library_setting)

    def login_failure(self) -> HttpResponseRedirect:
        reason = getattr(self.request, "once_sso_refusal", None) or (
            "the provider refused, or you cancelled"
            if self.request.GET.get("error")
            else "the provider's answer was not accepted"
        )
        return _fail(self.request, reason)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not is_configured():
            raise Http404("Single sign-on is not configured.")
        try:
            response: HttpResponse = super().get(request)
        except (ProviderUnavailable, requests.RequestException, SuspiciousOperation) as error:
            log.warning("Single sign-on failed: %s", error)
            return _fail(request, "the sign-on service's answer could not be verified")
        return response
