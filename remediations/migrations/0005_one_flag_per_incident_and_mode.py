"""One recurrence flag per (incident, failure mode), naming every fix that did not hold.

Before, a flag was raised per (incident, remediation). Flags of one incident and category
become one: it names all their remediations, keeps the earliest raise, and keeps a person's
decision: an acknowledged flag stays acknowledged (outcome "the fix did not hold", as an
acknowledgement confirmed the recurrence) and a dismissed one stays dismissed ("not a
recurrence"), each with its note (several notes are kept one after the other). The flag kept
is the decided one, else an open one, so its id and its delivery log stay.

The new rule (only ONCE_RECURRENCE_KINDS raise flags, the narrowest mode of a branch) is
applied by the next reconciliation (`reconcile_recurrences`, or Celery beat within
ONCE_RECONCILE_SECONDS), which clears the flags it no longer backs, keeping their decisions.
Reversible: going back splits each flag into one per named remediation.
"""

from collections import defaultdict

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


DECIDED = ("acknowledged", "dismissed")
OUTCOME_OF = {"acknowledged": "fix_did_not_hold", "dismissed": "not_a_recurrence"}
STATE_OF = {
    "fix_did_not_hold": "acknowledged",
    "partial": "acknowledged",
    "not_a_recurrence": "dismissed",
}


def one_flag_per_incident_and_mode(apps, schema_editor):
    Flag = apps.get_model("remediations", "RecurrenceFlag")
    FlagFix = apps.get_model("remediations", "FlagFix")
    groups = defaultdict(list)
    for row in (
        Flag.objects.order_by("pk")
        .values(
            "pk",
            "incident_id",
            "category_id",
            "remediation_id",
            "state",
            "note",
            "raised_at",
            "resolved_at",
            "resolved_by_id",
        )
        .iterator(chunk_size=5000)
    ):
        groups[(row["incident_id"], row["category_id"])].append(row)
    keep, gone, fixes = [], [], []
    for rows in groups.values():
        decided = [r for r in rows if r["state"] in DECIDED]
        opened = [r for r in rows if r["state"] == "open"]
        if decided:
            survivor = max(decided, key=lambda r: (r["resolved_at"] or r["raised_at"], r["pk"]))
            notes = []
            for r in sorted(decided, key=lambda r: (r["resolved_at"] or r["raised_at"], r["pk"])):
                if r["note"] and r["note"] not in notes:
                    notes.append(r["note"])
            survivor = {
                **survivor,
                "note": "\n\n".join(notes),
                "outcome": OUTCOME_OF[survivor["state"]],
            }
        elif opened:
            survivor = {**min(opened, key=lambda r: r["pk"]), "outcome": None}
        else:
            survivor = {**max(rows, key=lambda r: r["pk"]), "outcome": None}
        survivor["raised_at"] = min(r["raised_at"] for r in rows)
        keep.append(survivor)
        gone += [r["pk"] for r in rows if r["pk"] != survivor["pk"]]
        fixes += [(survivor["pk"], r) for r in sorted({r["remediation_id"] for r in rows})]
    for start in range(0, len(gone), 5000):
        Flag.objects.filter(pk__in=gone[start : start + 5000]).delete()
    updates = [
        Flag(
            pk=r["pk"],
            state=r["state"],
            outcome=r["outcome"],
            note=r["note"],
            raised_at=r["raised_at"],
            resolved_at=r["resolved_at"],
            resolved_by_id=r["resolved_by_id"],
        )
        for r in keep
        if r["outcome"] is not None or len(groups[(r["incident_id"], r["category_id"])]) > 1
    ]
    Flag.objects.bulk_update(
        updates,
        ["state", "outcome", "note", "raised_at", "resolved_at", "resolved_by_id"],
        batch_size=2000,
    )
    FlagFix.objects.bulk_create(
        [FlagFix(flag_id=f, remediation_id=r) for f, r in fixes], batch_size=5000
    )


def one_flag_per_remediation(apps, schema_editor):
    Flag = apps.get_model("remediations", "RecurrenceFlag")
    FlagFix = apps.get_model("remediations", "FlagFix")
    named = defaultdict(list)
    for flag_id, remediation_id in FlagFix.objects.order_by("remediation_id").values_list(
        "flag_id", "remediation_id"
    ):
        named[flag_id].append(remediation_id)
    Flag.objects.exclude(pk__in=list(named)).delete()  # the old table needs a remediation
    for flag in Flag.objects.filter(pk__in=list(named)).iterator(chunk_size=2000):
        first, *others = named[flag.pk]
        # An old flag knew no outcome: a triaged flag is acknowledged or dismissed; a cleared
        # one stays cleared.
        state = flag.state
        Flag.objects.filter(pk=flag.pk).update(remediation_id=first, outcome=None)
        Flag.objects.bulk_create(
            [
                Flag(
                    incident_id=flag.incident_id,
                    category_id=flag.category_id,
                    remediation_id=r,
                    state=state,
                    note=flag.note,
                    raised_at=flag.raised_at,
                    resolved_at=flag.resolved_at,
                    resolved_by_id=flag.resolved_by_id,
                    reason=flag.reason,
                )
                for r in others
            ]
        )


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
        migrations.RunPython(one_flag_per_incident_and_mode, one_flag_per_remediation),
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
