"""The `Viewers` group exists from the start: adding a person to it makes them read-only."""

from typing import Any

from django.db import migrations

VIEWERS = "Viewers"  # common.roles.VIEWERS, frozen here as migrations must be


def create_viewers(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.get_or_create(name=VIEWERS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    # Reversing keeps the group: its members would otherwise silently become writers.
    operations = [migrations.RunPython(create_viewers, migrations.RunPython.noop)]
