"""Drop the indexes another index already provides: each costs on every row a full
reconciliation writes (benchmarks/reconcile_speed.py: a third of its time at 100,000 incidents).

flagfix_remediation_idx repeated the foreign key's own index; the others lead a unique
constraint or flag_category_state_idx, which serve the same lookups.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0005_category_updated_at'),
        ('remediations', '0008_remediation_scenario'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='flagfix',
            name='flagfix_remediation_idx',
        ),
        migrations.AlterField(
            model_name='flagfix',
            name='flag',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='fixes', to='remediations.recurrenceflag'),
        ),
        migrations.AlterField(
            model_name='recurrenceflag',
            name='category',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='flags', to='incidents.failurecategory'),
        ),
        migrations.AlterField(
            model_name='recurrenceflag',
            name='incident',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='flags', to='incidents.incident'),
        ),
        migrations.AlterField(
            model_name='recurrencelink',
            name='incident',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='recurrence_links', to='incidents.incident'),
        ),
    ]
