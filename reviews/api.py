"""GET /api/review/<YYYY>-W<WW>/: the week's agenda, as the page shows it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reviews import agenda
from reviews.serializers import AgendaSerializer
from reviews.weeks import Week


class ReviewAgendaView(APIView):
    @extend_schema(
        operation_id="review_agenda",
        responses={200: AgendaSerializer, 404: OpenApiResponse(description="No such ISO week.")},
    )
    def get(self, request: Request, week: str) -> Response:
        try:
            the_week = Week.parse(week)
        except ValueError as error:
            raise NotFound(str(error)) from error
        built = agenda.build(the_week, viewer=request.user)
        sections = {
            name: getattr(built, name)
            for name in (
                "new_incidents", "unreviewed_incidents", "open_flags",
                "overdue_remediations", "due_remediations", "done_remediations",
                "game_days", "failed_verifications",
            )
        }  # fmt: skip
        data: dict[str, Any] = {
            "week": the_week.label,
            "starts": the_week.monday,
            "ends": the_week.sunday,
            **{name: section.rows for name, section in sections.items()},
            "awaiting_verification": {
                "count": built.awaiting_verification.total,
                "remediations": built.awaiting_verification.rows,
            },
            "category_trends": built.trends,
            "trend_weeks": [w.label for w in built.trend_weeks],
            "categories_without_remediation": built.uncovered_categories,
            "meeting": {
                "notes": built.meeting.notes if built.meeting else "",
                "attendees": built.attendee_names,
                "reviewed_incidents": sorted(built.reviewed_ids),
            },
            "decisions": built.decisions,
            "totals": {
                **{name: section.total for name, section in sections.items()},
                "awaiting_verification": built.awaiting_verification.total,
            },
        }
        return Response(AgendaSerializer(data).data)
