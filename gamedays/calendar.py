"""The iCalendar feed of game days (RFC 5545), at a secret per-person address that calendar
apps subscribe to: /game-days/calendar/<secret>.ics (no login; made and revoked on
/account/tokens/, stored as a hash: accounts.models.CalendarFeed).

Each game day is an event: its title, start, a default length (GAME_DAY_HOURS), a
description with the environment, the facilitator, the plan's first lines and the
scenarios, its page's URL, and STATUS:CANCELLED when it was cancelled. SEQUENCE is the game
day's version, so a calendar app replaces an event that changed.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from icalendar import Calendar, Event

from accounts.models import CalendarFeed
from gamedays.models import GameDay, GameDayStatus, Scenario

GAME_DAY_HOURS = 4  # how long an event lasts in the calendar: a game day has no end time
PLAN_LINES = 8  # of the plan, in the description
PAST_DAYS = 365  # game days older than this leave the feed (the pages keep them)
MAX_EVENTS = 500
# How often calendar apps should fetch the feed again (those that honour it).
REFRESH = datetime.timedelta(hours=1)
STATUS = {
    GameDayStatus.PLANNED: "CONFIRMED",
    GameDayStatus.RUNNING: "CONFIRMED",
    GameDayStatus.DONE: "CONFIRMED",
    GameDayStatus.CANCELLED: "CANCELLED",
}


def feed_game_days(now: datetime.datetime | None, user: Any) -> QuerySet[GameDay]:
    """The game days a feed holds, with what an event reads (the scenarios `user`, whose
    feed it is, may see), in a fixed number of queries."""
    since = (now or timezone.now()) - datetime.timedelta(days=PAST_DAYS)
    scenarios = Scenario.objects.visible_to(user).select_related("category")
    return (
        GameDay.objects.filter(scheduled_at__gte=since)
        .select_related("facilitator")
        .prefetch_related("participants", Prefetch("scenarios", scenarios))
        .order_by("scheduled_at", "pk")[:MAX_EVENTS]
    )


def build_calendar(
    game_days: Iterable[GameDay], *, base_url: str, user: AbstractBaseUser | None = None
) -> bytes:
    """The feed as iCalendar bytes; `base_url` ("https://once.example") makes links absolute.

    For `user`, each event says their part in it (facilitator, participant).
    """
    calendar = Calendar()
    calendar.add("prodid", "-//Once//Game days//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Once game days")
    calendar.add("x-wr-caldesc", "Game days planned in Once: break things on purpose, test fixes.")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "once"
    for game_day in game_days:
        calendar.add_component(_event(game_day, base_url=base_url, host=host, user=user))
    return calendar.to_ical()


def _event(game_day: GameDay, *, base_url: str, host: str, user: AbstractBaseUser | None) -> Event:
    url = base_url.rstrip("/") + game_day.get_absolute_url()
    event = Event()
    event.add("uid", f"game-day-{game_day.pk}@{host}")
    event.add("dtstamp", game_day.updated_at)
    event.add("last-modified", game_day.updated_at)
    event.add("created", game_day.created_at)
    event.add("sequence", game_day.version)
    event.add("dtstart", game_day.scheduled_at)
    event.add("dtend", game_day.scheduled_at + datetime.timedelta(hours=GAME_DAY_HOURS))
    event.add("summary", f"Game day: {game_day.title} ({game_day.get_environment_display()})")
    event.add("status", STATUS[GameDayStatus(game_day.status)])
    event.add("url", url)
    event.add("categories", ["Game day", game_day.get_environment_display()])
    event.add("description", _description(game_day, url, user))
    return event


def _description(game_day: GameDay, url: str, user: AbstractBaseUser | None) -> str:
    facilitator = game_day.facilitator
    participants = list(game_day.participants.all())
    lines = [
        f"{game_day.get_status_display()} · {game_day.get_environment_display()}",
        f"Facilitator: {facilitator.get_username() if facilitator else 'nobody yet'}",
    ]
    if participants:
        names = ", ".join(sorted((p.get_username() for p in participants), key=str.lower))
        lines.append(f"Participants: {names}")
    if user is not None and user.pk is not None:
        if facilitator is not None and facilitator.pk == user.pk:
            lines.append("You facilitate it.")
        elif any(p.pk == user.pk for p in participants):
            lines.append("You take part.")
    plan = [line for line in game_day.plan.strip().splitlines() if line.strip()]
    if plan:
        lines += ["", "Plan:", *plan[:PLAN_LINES]]
        if len(plan) > PLAN_LINES:
            lines.append("…")
    scenarios = list(game_day.scenarios.all())
    if scenarios:
        lines += ["", "Scenarios:"]
        for scenario in scenarios:
            outcome = "" if scenario.outcome == "pending" else f" [{scenario.outcome}]"
            lines.append(f"- {scenario.name} ({scenario.category.path}){outcome}")
    lines += ["", url]
    return "\n".join(lines)


@login_not_required  # the secret in the address is the credential: calendar apps can't log in
@require_GET
def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """A person's game-day calendar; 404 for a wrong or revoked secret."""
    feed = CalendarFeed.objects.for_secret(secret)
    if feed is None:
        raise Http404("No such calendar.")
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > datetime.timedelta(minutes=5):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)  # shown on the page
    body = build_calendar(
        feed_game_days(now, feed.user), base_url=request.build_absolute_uri("/"), user=feed.user
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="once-game-days.ics"'
    response["Cache-Control"] = "private, max-age=300"
    # The address is a secret: don't let it travel in a Referer or into a search index.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
