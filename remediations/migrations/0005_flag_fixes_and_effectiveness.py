"""The schema beside the old flags: fixes a flag names, a flag's outcome, the effectiveness
of done fixes, follow-ups and the reconciliation log. The flags themselves change in 0006.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models



class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0005_category_updated_at"),
        ("remediations", "0004_flag_claims_to_delivery_log"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="FlagFix",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="ReconciliationRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("full", models.BooleanField(default=False)),
                ("incidents", models.PositiveIntegerField(default=0)),
                ("remediations", models.PositiveIntegerField(default=0)),
                ("summary", models.JSONField(blank=True, default=dict)),
            ],
            options={
                "ordering": ["-started_at"],
                "get_latest_by": "started_at",
            },
        ),
        migrations.AddField(
            model_name="historicalremediation",
            name="follow_up_of",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="remediations.remediation",
            ),
        ),
        migrations.AddField(
            model_name="recurrenceflag",
            name="outcome",
            field=models.CharField(
                blank=True,
                choices=[
                    ("fix_did_not_hold", "The fix did not hold"),
                    ("partial", "Partly expected"),
                    ("not_a_recurrence", "Not a recurrence"),
                ],
                max_length=20,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="flagfix",
            name="flag",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="fixes",
                to="remediations.recurrenceflag",
            ),
        ),
        migrations.AddField(
            model_name="flagfix",
            name="remediation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="remediations.remediation",
            ),
        ),
        migrations.AddField(
            model_name="recurrenceflag",
            name="remediations",
            field=models.ManyToManyField(
                blank=True,
                related_name="flags",
                through="remediations.FlagFix",
                to="remediations.remediation",
            ),
        ),
        migrations.AddIndex(
            model_name="flagfix",
            index=models.Index(fields=["remediation"], name="flagfix_remediation_idx"),
        ),
        migrations.AddConstraint(
            model_name="flagfix",
            constraint=models.UniqueConstraint(
                fields=("flag", "remediation"), name="unique_fix_per_flag"
            ),
        ),
        migrations.AddField(
            model_name="remediation",
            name="effectiveness",
            field=models.CharField(
                blank=True,
                choices=[
                    ("unverified", "Unverified"),
                    ("holding", "Holding"),
                    ("verified", "Verified"),
                    ("regressed", "Regressed"),
                ],
                editable=False,
                max_length=16,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="remediation",
            name="effectiveness_evidence",
            field=models.CharField(blank=True, editable=False, max_length=300),
        ),
        migrations.AddField(
            model_name="remediation",
            name="effectiveness_since",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="remediation",
            name="follow_up_of",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="follow_ups",
                to="remediations.remediation",
            ),
        ),
        migrations.AddField(
            model_name="remediation",
            name="regressed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="remediation",
            name="verified_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="remediation",
            index=models.Index(
                condition=models.Q(("effectiveness__isnull", False)),
                fields=["effectiveness", "done_at"],
                name="remediation_effectiveness_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="remediation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("effectiveness__isnull", True),
                    models.Q(
                        ("effectiveness__in", ["unverified", "holding", "verified", "regressed"]),
                        ("status", "done"),
                    ),
                    _connector="OR",
                ),
                name="remediation_effectiveness_only_when_done",
            ),
        ),
        migrations.AddConstraint(
            model_name="remediation",
            constraint=models.CheckConstraint(
                condition=models.Q(("follow_up_of", models.F("id")), _negated=True),
                name="remediation_not_its_own_follow_up",
            ),
        ),
        migrations.AlterField(
            model_name="recurrenceflag",
            name="remediation",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="remediations.remediation",
            ),
        ),
    ]
