"""API viewsets for game days and scenarios, and recording a Chaos Toolkit journal."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import VersionedUpdates
from common.concurrency import StaleVersion
from common.validation import RecordInvalid
from gamedays.actions import GameDayClosed
from gamedays.filters import GameDayFilterSet, ScenarioFilterSet
from gamedays.journal import MAX_JOURNAL_BYTES, NotAJournal, read_journal, record_journal
from gamedays.models import GameDay, Scenario
from gamedays.serializers import GameDaySerializer, JournalSerializer, ScenarioSerializer
from remediations.models import Remediation


def scenarios_for_api(user: Any) -> QuerySet[Scenario]:
    """The scenarios `user` may see with what their representation reads (the fixes they
    verify that `user` may see), in a fixed number of queries."""
    return (
        Scenario.objects.visible_to(user)
        .select_related("category", "game_day")
        .prefetch_related("services", Prefetch("verifies", Remediation.objects.visible_to(user)))
    )


class GameDayViewSet(
    VersionedUpdates,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    queryset = GameDay.objects.all()
    serializer_class = GameDaySerializer
    filterset_class = GameDayFilterSet

    def get_queryset(self) -> QuerySet[GameDay]:
        """Game days are shared; their scenarios hidden from the caller are left out."""
        return GameDay.objects.select_related("facilitator").prefetch_related(
            "participants", Prefetch("scenarios", scenarios_for_api(self.request.user))
        )


class JournalTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"A journal is at most {MAX_JOURNAL_BYTES:,} bytes."


class JournalParser(BaseParser):
    """The body as bytes, at most MAX_JOURNAL_BYTES: a journal is larger than other bodies
    (the usual limit is DATA_UPLOAD_MAX_MEMORY_SIZE), and gamedays.journal reads it."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = stream.read(MAX_JOURNAL_BYTES + 1) if stream is not None else b""
        if len(data) > MAX_JOURNAL_BYTES:
            raise JournalTooLarge()
        return data


class ScenarioViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Scenario.objects.all()
    serializer_class = ScenarioSerializer
    filterset_class = ScenarioFilterSet

    def get_queryset(self) -> QuerySet[Scenario]:
        """The scenarios the caller may see; one linked to a restricted incident hidden from
        them answers 404."""
        return scenarios_for_api(self.request.user)

    @extend_schema(request=JournalSerializer, responses={200: ScenarioSerializer})
    @action(detail=True, methods=["post"], parser_classes=[JournalParser])
    def journal(self, request: Request, pk: str | None = None) -> Response:
        """Record a Chaos Toolkit run: the `journal.json` that `chaos run` writes.

        `deviated` → failed; else `completed` → held; `failed`, `aborted` or `interrupted`
        → aborted (and so is a run whose steady state was not met before the method). The
        run's time is its `start`; the observations summarize its probes and actions (kept
        below anything people wrote). At most 5 MB.
        """
        scenario = self.get_object()
        body = request.data
        if not isinstance(body, bytes) or not body.strip():
            raise ValidationError(
                {"non_field_errors": ["The body is empty: send the journal.json that `chaos run` "
                                      "writes."]}
            )  # fmt: skip
        try:
            run = read_journal(body)
        except NotAJournal as refused:
            raise ValidationError(refused.errors.as_nested()) from None
        try:
            scenario = record_journal(scenario, run, by=request.user)
        except RecordInvalid as invalid:  # e.g. the game day no longer passes its validator
            raise ValidationError({"non_field_errors": invalid.errors.as_lines()}) from None
        except GameDayClosed as closed:
            return Response({"detail": str(closed)}, status=status.HTTP_409_CONFLICT)
        except StaleVersion:  # pragma: no cover - record_outcome locks the game day
            return Response(
                {"detail": "The game day changed meanwhile; send the journal again."},
                status=status.HTTP_409_CONFLICT,
            )
        fresh = self.get_queryset().get(pk=scenario.pk)
        return Response(ScenarioSerializer(fresh, context=self.get_serializer_context()).data)
