"""Incidents imported off PostgreSQL (the demo on SQLite) kept no parts in their first history
record, so the first edit after could not show the timeline entries, causes or services it
removed (issue 15, item 4). Where that record is still the incident's current version, its
parts are the incident's own: fill them in, in `incidents.actions.parts_of`'s shape. Older
versions without parts stay unknown (the history page skips their parts, as before).
"""

from typing import Any

from django.db import migrations


def _iso(moment: Any) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def fill_parts(apps: Any, schema_editor: Any) -> None:
    incident_model = apps.get_model("incidents", "Incident")
    history = apps.get_model("incidents", "HistoricalIncident")
    for row in history.objects.filter(parts__isnull=True).only("history_id", "id", "version"):
        incident = (
            incident_model.objects.filter(pk=row.id, version=row.version)
            .prefetch_related("categories", "services", "access_groups", "timeline", "causes__category")
            .first()
        )
        if incident is None:
            continue  # an older version: its parts are not known
        parts = {
            "access_groups": sorted(g.name for g in incident.access_groups.all()),
            "categories": sorted(c.path for c in incident.categories.all()),
            "services": sorted((s.name for s in incident.services.all()), key=str.lower),
            "causes": [
                {"kind": c.kind, "description": c.description,
                 "category": c.category.path if c.category else None}
                for c in incident.causes.all()
            ],  # fmt: skip
            "timeline": [{"at": _iso(t.at), "text": t.text} for t in incident.timeline.all()],
        }
        history.objects.filter(history_id=row.history_id).update(parts=parts)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_restricted_index"),
    ]

    operations = [
        migrations.RunPython(fill_parts, migrations.RunPython.noop),
    ]
