"""The digest's and reminders' claims move to the delivery log (common.Notification).

Each claim becomes a `sent` delivery under the key the code uses, so nothing already sent
goes out again after the upgrade:
- a week's digest by email (DigestDelivery): one row per address the digest goes to now
  (ONCE_DIGEST_RECIPIENTS, or every active user with an email), key `digest:<week>`;
- a week's digest by webhook: one row for ONCE_WEBHOOK_URL, if set;
- the reminders of a week (OverdueReminder, one per remediation): one row per owner and week,
  key `overdue:<week>:<owner id>:<smallest remediation id>`, listing the remediations in its
  payload as reviews.digest.remind_overdue reads them.
Then both tables go. The text of those old messages was never kept.
"""

from collections import defaultdict

from django.conf import settings
from django.db import migrations

CARRIED = "Sent before the delivery log existed (its text was not kept)"


def week_label(monday):
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


def digest_recipients(apps):
    if settings.ONCE_DIGEST_RECIPIENTS:
        return list(settings.ONCE_DIGEST_RECIPIENTS)
    User = apps.get_model(settings.AUTH_USER_MODEL)
    users = User.objects.filter(is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def carry_claims_over(apps, schema_editor):
    DigestDelivery = apps.get_model("reviews", "DigestDelivery")
    OverdueReminder = apps.get_model("reviews", "OverdueReminder")
    Notification = apps.get_model("common", "Notification")

    def sent(key, channel, recipient, at, payload=None):
        return Notification(
            key=key, channel=channel, recipient=recipient, subject=CARRIED, payload=payload or {},
            state="sent", attempts=1, next_attempt_at=None, created_at=at, sent_at=at,
        )

    rows = []
    addresses = None
    for delivery in DigestDelivery.objects.order_by("week_start", "channel"):
        key = f"digest:{week_label(delivery.week_start)}"
        if delivery.channel == "email":
            if addresses is None:
                addresses = digest_recipients(apps)
            rows += [sent(key, "email", address, delivery.sent_at) for address in addresses]
        elif settings.ONCE_WEBHOOK_URL:
            rows.append(sent(key, "webhook", settings.ONCE_WEBHOOK_URL, delivery.sent_at))

    groups = defaultdict(list)
    reminders = OverdueReminder.objects.select_related("remediation__owner")
    for reminder in reminders.order_by("week_start", "remediation_id").iterator(chunk_size=2000):
        owner = reminder.remediation.owner
        if owner is not None and owner.email:
            groups[(reminder.week_start, owner.pk, owner.email)].append(reminder)
    for (monday, owner_id, email), claimed in groups.items():
        ids = sorted(r.remediation_id for r in claimed)
        key = f"overdue:{week_label(monday)}:{owner_id}:{ids[0]}"
        at = max(r.sent_at for r in claimed)
        rows.append(sent(key, "email", email, at, {"remediations": ids}))
    Notification.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)


def restore_claims(apps, schema_editor):
    import datetime

    DigestDelivery = apps.get_model("reviews", "DigestDelivery")
    OverdueReminder = apps.get_model("reviews", "OverdueReminder")
    Remediation = apps.get_model("remediations", "Remediation")
    Notification = apps.get_model("common", "Notification")

    def monday(label):
        year, number = label.split("-W")
        return datetime.date.fromisocalendar(int(year), int(number), 1)

    told = Notification.objects.filter(state="sent")
    for key, channel in told.filter(key__startswith="digest:").values_list("key", "channel"):
        DigestDelivery.objects.get_or_create(week_start=monday(key.split(":")[1]), channel=channel)
    existing = set(Remediation.objects.values_list("pk", flat=True))
    for key, payload in told.filter(key__startswith="overdue:").values_list("key", "payload"):
        for remediation_id in payload.get("remediations", []):
            if remediation_id in existing:
                OverdueReminder.objects.get_or_create(
                    week_start=monday(key.split(":")[1]), remediation_id=remediation_id
                )


class Migration(migrations.Migration):

    dependencies = [
        ('common', '0001_initial'),
        ('remediations', '0004_flag_claims_to_delivery_log'),
        ('reviews', '0002_digestdelivery_overduereminder'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(carry_claims_over, restore_claims),
        migrations.DeleteModel(
            name='DigestDelivery',
        ),
        migrations.DeleteModel(
            name='OverdueReminder',
        ),
    ]
