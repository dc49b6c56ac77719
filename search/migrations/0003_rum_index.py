"""A RUM index over search_document.vector, when the server has the extension (PostgreSQL).

RUM (https://github.com/postgrespro/rum; Debian's postgresql-15-rum) is a GIN that also keeps
each word's positions in the index: phrases are checked and candidates ordered by relevance
(`vector <=> query`) without reading the documents. It replaces the GIN index, which answers
nothing it cannot. Without the extension the GIN index stays and search is slower for phrases
and very common words (search/backends/postgresql.py logs that once); installing it later and
running `manage.py rebuild_search_index --rum` builds the index then (docs/operations.md).
"""

from django.db import migrations

from search.rum import create_rum_index, drop_rum_index


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        create_rum_index(schema_editor.connection)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        drop_rum_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_full_text_index")]

    operations = [migrations.RunPython(forwards, backwards)]
