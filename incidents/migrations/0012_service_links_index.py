"""An index of the incidents each service names, for the service page (issue 17).

A service page reads its incidents from the links alone (reports.services.incident_ids_of):
with (service_id, incident_id) that is an index-only scan, where the single-column index
Django makes for the foreign key reads the table too. The links table is the one Django makes
for Incident.services, so the index is plain SQL (portable: PostgreSQL and SQLite).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0011_service_pages"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX incident_services_by_service_idx "
            "ON incidents_incident_services (service_id, incident_id)",
            reverse_sql="DROP INDEX incident_services_by_service_idx",
        ),
    ]
