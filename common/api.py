"""Pieces every API viewset shares: pagination, optimistic-concurrency answers, error mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from common.concurrency import StaleVersion
from common.validation import RecordInvalid

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView
    from rest_framework.mixins import UpdateModelMixin

    # What VersionedUpdates is mixed into: an updating view (at run time it stands alone).
    class _UpdatingView(UpdateModelMixin, GenericAPIView[Any]): ...
else:
    _UpdatingView = object

# The largest OFFSET the databases take (a signed 64-bit integer): past it PostgreSQL answers
# "bigint out of range" and SQLite overflows, so a larger one is refused before any query.
MAX_OFFSET = 2**63 - 1


def whole_number(raw: str, name: str, *, minimum: int, maximum: int | None = None) -> int:
    """A query parameter as a whole number in range, or a 400 that says what is accepted."""
    accepted = f"a whole number from {minimum:,}" + (f" to {maximum:,}" if maximum else " up")
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValidationError({name: [f"Send {accepted}, not “{raw[:40]}”."]}) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise ValidationError({name: [f"Send {accepted}, not {raw[:40]}."]})
    return value


class Pagination(LimitOffsetPagination):
    """`limit`/`offset` pages of at most 200 rows: `{"count", "next", "previous", "results"}`.

    A `limit` above 200 serves 200 rows; a limit or offset that is not a whole number in range
    (negative, a word, beyond 64 bits) is answered 400 naming the parameter, never ignored.
    """

    default_limit = 50
    max_limit = 200

    def get_limit(self, request: Request) -> int:
        raw = request.query_params.get(self.limit_query_param)
        if raw is None or raw == "":
            return self.default_limit
        # Any size of number is read; the answer is capped at max_limit, as documented.
        return min(whole_number(raw, self.limit_query_param, minimum=1), self.max_limit)

    def get_offset(self, request: Request) -> int:
        raw = request.query_params.get(self.offset_query_param)
        if raw is None or raw == "":
            return 0
        return whole_number(raw, self.offset_query_param, minimum=0, maximum=MAX_OFFSET)


class VersionField(serializers.IntegerField):
    """The version a client read. Returned on reads; required on updates (see VersionedUpdates)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "The version this representation is at. Send it back unchanged with an update: "
            "if someone saved a newer version meanwhile, the update is refused with 409.",
        )
        super().__init__(**kwargs)


def require_version(data: dict[str, Any]) -> int:
    """The `version` a client sent with an update; 400 when it is missing or not a number."""
    version = data.get("version") if isinstance(data, dict) else None
    if version is None:
        raise ValidationError(
            {"version": ["Send the version you read: updates are refused without it."]}
        )
    if isinstance(version, str) and version.strip().isascii() and version.strip().isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or not 0 < version < 2**31:
        raise ValidationError({"version": ["A version is a whole number, as you read it."]})
    return version


def conflict_response(
    error: StaleVersion, serializer_class: type, context: Mapping[str, Any]
) -> Response:
    """409 with the current representation, so the client can merge and retry."""
    current = serializer_class(error.instance, context=context).data
    return Response(
        {
            "detail": (
                f"Version {error.submitted_version} is out of date: someone saved version "
                f"{current['version']} meanwhile. Nothing was changed. Merge with `current` "
                "and send its version."
            ),
            "current": current,
        },
        status=status.HTTP_409_CONFLICT,
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus clear answers for errors raised below the serializers."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"detail": f"The request body is larger than the limit of {limit:,} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, PermissionDenied):
        # An action refused the caller's role (common/roles.py): its sentence says why.
        reason = str(exc) or "You may not do this."
        return Response({"detail": reason}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, RecordInvalid):
        # An action's check made again under its lock (a duplicate marked at the same moment,
        # incidents.actions._recheck_original): the validator's messages, as a 400.
        return Response(exc.errors.as_nested(), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProtectedError):
        return Response(
            {"detail": "It is still in use by incidents, causes, remediations or sub-categories."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DataError):
        # The database refused a value no validator caught (a number past 64 bits, a text
        # longer than its column): bad input, so a 400, not a 500.
        return Response(
            {"detail": "A value does not fit what the database can store (too large or too long)."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, IntegrityError):
        return Response(
            {"detail": "That conflicts with data saved meanwhile; reload and try again."},
            status=status.HTTP_409_CONFLICT,
        )
    return exception_handler(exc, context)


class NoSuchEndpoint(APIView):
    """Every other address under /api/: a JSON 404 (after authentication), never an HTML page."""

    schema = None  # not part of the API description

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound("There is nothing at this address in the API.")

    post = put = patch = delete = get


class VersionedUpdates(_UpdatingView):
    """Updates that answer 409 with the current representation when the version is stale."""

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().update(request, *args, **kwargs)
        except StaleVersion as stale:
            fresh = self.get_queryset().get(pk=stale.instance.pk)
            return conflict_response(
                StaleVersion(fresh, stale.submitted_version),
                self.get_serializer_class(),
                self.get_serializer_context(),
            )
