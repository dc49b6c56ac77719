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

from django.db import migrations

DECIDED = ("acknowledged", "dismissed")
OUTCOME_OF = {"acknowledged": "fix_did_not_hold", "dismissed": "not_a_recurrence"}


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
    _check_now(schema_editor)


def _check_now(schema_editor):
    """Run the deferred foreign-key checks now: PostgreSQL refuses to alter a table that has
    pending trigger events, and the next operations alter this one."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


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
    dependencies = [("remediations", "0005_flag_fixes_and_effectiveness")]

    operations = [
        migrations.RunPython(one_flag_per_incident_and_mode, one_flag_per_remediation),
    ]
