"""Service names and aliases in their one spelling (issue 17, the breaker's item 2).

Names are now stored NFKC-normalised, without zero-width or other format characters, with
single spaces (incidents/names.py): every way in writes them so. This rewrites the names
stored before. Two services whose names become one (`etcd` and `etcd` with a zero-width space)
are NOT merged here — a merge moves incidents and scenarios, joins design notes and is audited
as staff's act — so the second keeps its old spelling and the migration names both on its
output: staff merge them on the service page ("Merge into…") or in the admin. A rename here is
not a new version (nothing a person wrote changed); run `manage.py rebuild_search_index` for
search to read the new spellings.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import Any

from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact


def _canonical(name: str) -> str:
    """incidents.names.canonical_name as of this migration (a copy: migrations keep working
    when the app's code changes)."""
    normal = name
    while True:
        visible = "".join(c for c in normal if not _invisible(c))
        again = unicodedata.normalize("NFKC", visible)
        if again == normal:
            break
        normal = again
    return " ".join(normal.split())


_IGNORABLE_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF),
)  # fmt: skip


def _invisible(char: str) -> bool:
    point = ord(char)
    if unicodedata.category(char) == "Cf":
        return True
    return any(low <= point <= high for low, high in _IGNORABLE_RANGES)


def _same(name: str) -> Exact:
    return Exact(Lower("name"), Lower(Value(name)))


def canonical_names(apps: Any, schema_editor: Any) -> None:
    Service = apps.get_model("incidents", "Service")  # noqa: N806  (a model class)
    ServiceAlias = apps.get_model("incidents", "ServiceAlias")  # noqa: N806
    left: list[str] = []
    for model, kind in ((Service, "service"), (ServiceAlias, "alias")):
        for row in model.objects.order_by("pk").iterator():
            name = _canonical(row.name)
            if name == row.name:
                continue
            services = Service.objects.filter(_same(name))
            aliases = ServiceAlias.objects.filter(_same(name))
            if kind == "service":
                services = services.exclude(pk=row.pk)
            else:
                aliases = aliases.exclude(pk=row.pk)
            taken = (
                services.values_list("pk", "name").first()
                or aliases.values_list("service_id", "name").first()
            )
            if not name or len(name) > 100 or "," in name or taken:
                why = f"spelled like {taken[1]!r} (service {taken[0]})" if taken else "unusable"
                left.append(f"  {kind} {row.pk} {row.name!r}: {why}")
                continue
            model.objects.filter(pk=row.pk).update(name=name)
    if left:
        sys.stdout.write(
            "\n  Service names left in their old spelling (merge them as staff):\n"
            + "\n".join(left)
            + "\n"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0012_service_links_index"),
    ]

    operations = [
        migrations.RunPython(canonical_names, migrations.RunPython.noop, elidable=True),
    ]
