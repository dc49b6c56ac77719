"""Flags' notification claims move to the delivery log (common.Notification).

Every channel a flag had claimed (owner_notified_at, webhook_notified_at) becomes a `sent`
delivery with the key the code uses, `flag:<id>`, so no flag is announced again after the
upgrade. The claim columns then go. The text of those old messages was never kept.
"""

from django.conf import settings
from django.db import migrations
from django.db.models import Q

CARRIED = "Sent before the delivery log existed (its text was not kept)"


def carry_claims_over(apps, schema_editor):
    RecurrenceFlag = apps.get_model("remediations", "RecurrenceFlag")
    Notification = apps.get_model("common", "Notification")
    webhook = settings.ONCE_WEBHOOK_URL
    claimed = RecurrenceFlag.objects.filter(
        Q(owner_notified_at__isnull=False) | Q(webhook_notified_at__isnull=False)
    ).select_related("remediation__owner")
    rows = []
    for flag in claimed.iterator(chunk_size=2000):
        sent = dict(subject=CARRIED, state="sent", attempts=1, next_attempt_at=None)
        owner = flag.remediation.owner
        # A claim without an address announced nothing; there is nothing to carry.
        if flag.owner_notified_at and owner is not None and owner.email:
            rows.append(Notification(
                key=f"flag:{flag.pk}", channel="email", recipient=owner.email,
                created_at=flag.owner_notified_at, sent_at=flag.owner_notified_at, **sent,
            ))
        if flag.webhook_notified_at and webhook:
            rows.append(Notification(
                key=f"flag:{flag.pk}", channel="webhook", recipient=webhook,
                created_at=flag.webhook_notified_at, sent_at=flag.webhook_notified_at, **sent,
            ))
    Notification.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)


def restore_claims(apps, schema_editor):
    RecurrenceFlag = apps.get_model("remediations", "RecurrenceFlag")
    Notification = apps.get_model("common", "Notification")
    told = Notification.objects.filter(key__startswith="flag:", state="sent")
    for key, channel, sent_at in told.values_list("key", "channel", "sent_at").iterator():
        field = "owner_notified_at" if channel == "email" else "webhook_notified_at"
        RecurrenceFlag.objects.filter(pk=int(key.split(":")[1]), **{f"{field}__isnull": True}).update(
            **{field: sent_at}
        )


class Migration(migrations.Migration):

    dependencies = [
        ('common', '0001_initial'),
        ('remediations', '0003_recurrenceflag_flag_open_raised_idx_and_more'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(carry_claims_over, restore_claims),
        migrations.RemoveField(
            model_name='recurrenceflag',
            name='owner_notified_at',
        ),
        migrations.RemoveField(
            model_name='recurrenceflag',
            name='webhook_notified_at',
        ),
    ]
