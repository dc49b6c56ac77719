"""API tokens kept as hashes (accounts.ApiToken), and the end of DRF's plain-text tokens.

`rest_framework.authtoken` kept every key in plain text (`authtoken_token.key`), readable by
anyone with the database, a backup or the admin. Those keys stop working with this version
(the app is no longer installed); their table is dropped here so that the keys themselves
don't linger in the database and its future backups. Its rows in django_migrations go too,
so that installing the app again would create a fresh, empty table. Nothing is lost that a
person needs: they make a new token on /account/tokens/. Reversing keeps the table dropped
(the keys can't be brought back, and shouldn't be).
"""

from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.migrations.recorder import MigrationRecorder

OLD_TABLE = "authtoken_token"  # rest_framework.authtoken.models.Token


def drop_plain_tokens(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if OLD_TABLE in connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(OLD_TABLE)}")
    recorder = MigrationRecorder(connection)
    if recorder.has_table():
        recorder.migration_qs.filter(app="authtoken").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_viewers_group'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='What the token is for.', max_length=100)),
                ('key_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_at', models.DateTimeField()),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'ordering': ['-created_at', '-id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('expires_at__gt', models.F('created_at'))), name='api_token_expires_after_creation')],
            },
        ),
        migrations.RunPython(drop_plain_tokens, migrations.RunPython.noop),
    ]
