"""The old per-remediation flag column goes; one flag per (incident, failure mode) is held by
a constraint, and a decision by another.
"""

from django.db import migrations, models



class Migration(migrations.Migration):
    dependencies = [("remediations", "0006_one_flag_per_incident_and_mode")]

    operations = [
        migrations.RemoveConstraint(
            model_name="recurrenceflag",
            name="unique_flag_per_incident_remediation",
        ),
        migrations.RemoveField(
            model_name="recurrenceflag",
            name="remediation",
        ),
        migrations.AddIndex(
            model_name="recurrenceflag",
            index=models.Index(fields=["category", "state"], name="flag_category_state_idx"),
        ),
        migrations.AddConstraint(
            model_name="recurrenceflag",
            constraint=models.UniqueConstraint(
                fields=("incident", "category"), name="unique_flag_per_incident_category"
            ),
        ),
        migrations.AddConstraint(
            model_name="recurrenceflag",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("outcome__isnull", True), ("state", "open")),
                    models.Q(
                        ("outcome__in", ["fix_did_not_hold", "partial"]), ("state", "acknowledged")
                    ),
                    models.Q(("outcome", "not_a_recurrence"), ("state", "dismissed")),
                    models.Q(("outcome__isnull", True), ("state", "cleared")),
                    models.Q(
                        ("outcome__in", ["fix_did_not_hold", "partial", "not_a_recurrence"]),
                        ("state", "cleared"),
                    ),
                    _connector="OR",
                ),
                name="flag_outcome_matches_state",
            ),
        ),
    ]
