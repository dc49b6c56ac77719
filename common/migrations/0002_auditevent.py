"""The audit log (PRODUCT.md, "/audit/"), and on PostgreSQL a trigger that keeps it append-only.

The application never changes or deletes an event (common.models.AppendOnly), but an audit log
that a bug, a stray shell session or a compromised application account could rewrite proves
little. So on PostgreSQL, the production database, the table itself refuses UPDATE and DELETE
whoever sends them. One UPDATE is let through: the `user_id = NULL` that Django's
on_delete=SET_NULL sends when a user is deleted, and only when it changes nothing else (the
username stays in its own column). TRUNCATE is left alone: it is the table owner's act
(`manage.py flush`, the test suite), as is dropping the trigger for a retention policy.

SQLite, the embedded single-user default, gets no trigger: Django rebuilds a SQLite table on
most ALTERs, which would silently drop it, and whoever holds the file can rewrite it anyway.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


POSTGRESQL = [
    """
    CREATE FUNCTION common_auditevent_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.user_id IS NOT NULL AND NEW.user_id IS NULL
           AND to_jsonb(NEW) - 'user_id' = to_jsonb(OLD) - 'user_id' THEN
            RETURN NEW;  -- the user was deleted: on_delete=SET_NULL
        END IF;
        RAISE EXCEPTION 'The audit log is append-only: its events are never changed or deleted.'
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER common_auditevent_append_only BEFORE UPDATE OR DELETE ON common_auditevent
    FOR EACH ROW EXECUTE FUNCTION common_auditevent_append_only()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER common_auditevent_append_only ON common_auditevent",
    "DROP FUNCTION common_auditevent_append_only()",
]


def _run(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('common', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('action', models.CharField(choices=[('sign_in', 'Signed in'), ('sign_in_failed', 'Sign-in failed'), ('sign_out', 'Signed out'), ('restricted_view', 'Viewed a restricted incident'), ('export', 'Exported'), ('deletion', 'Deleted'), ('role_change', 'Changed a role'), ('group_change', 'Changed group membership'), ('visibility_change', 'Changed who may see an incident'), ('token_created', 'Created an API token'), ('token_revoked', 'Revoked an API token')], max_length=32)),
                ('username', models.CharField(blank=True, max_length=150)),
                ('target_type', models.CharField(blank=True, max_length=100)),
                ('target_id', models.CharField(blank=True, max_length=64)),
                ('target_label', models.CharField(blank=True, max_length=200)),
                ('address', models.GenericIPAddressField(blank=True, null=True)),
                ('detail', models.JSONField(blank=True, default=dict)),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['-at', '-id'], name='auditevent_newest_idx'), models.Index(fields=['action', '-at'], name='auditevent_action_idx'), models.Index(fields=['username', '-at'], name='auditevent_username_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('action__in', ['sign_in', 'sign_in_failed', 'sign_out', 'restricted_view', 'export', 'deletion', 'role_change', 'group_change', 'visibility_change', 'token_created', 'token_revoked'])), name='auditevent_action_valid')],
            },
        ),
        migrations.RunPython(_run(POSTGRESQL), _run(POSTGRESQL_REVERSE)),
    ]
