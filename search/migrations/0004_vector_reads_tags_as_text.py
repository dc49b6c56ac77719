"""The PostgreSQL tsvector reads what looks like HTML as text, as the reading view shows it.

PostgreSQL's text parser takes "<script>" or "<b>" for markup: it indexes none of a tag's
words and, after "<script>" or "<style>", none of the words that follow in that field, so a
report that *mentions* such a tag could not be found by most of its words (PRODUCT.md: raw
HTML typed into a report is shown as text, never silently dropped). Each field's "<" reads as
a space before parsing. The column is generated, so it is dropped and added again; the RUM
index, when there was one, is built again in place of the GIN index (search/rum.py).
"""

from django.db import migrations

from search.rum import INDEX, create_rum_index


def _vector(field: str, weight: str, readable: bool) -> str:
    text = f"replace({field}, '<', ' ')" if readable else field
    return f"setweight(to_tsvector('english', {text}), '{weight}')"


def _column(readable: bool) -> str:
    parts = [("title", "A"), ("labels", "B"), ("summary", "C"), ("body", "D")]
    vector = "\n        || ".join(_vector(f, w, readable) for f, w in parts)
    return f"ALTER TABLE search_document ADD COLUMN vector tsvector GENERATED ALWAYS AS ({vector}) STORED"


def _rebuild(readable: bool):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_class WHERE relname = %s", [INDEX])
            had_rum = cursor.fetchone() is not None
            cursor.execute("ALTER TABLE search_document DROP COLUMN vector")  # and its index
            cursor.execute(_column(readable))
            cursor.execute(
                "CREATE INDEX search_document_vector ON search_document USING gin (vector)"
            )
        if had_rum:
            create_rum_index(connection)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0003_rum_index")]

    operations = [migrations.RunPython(_rebuild(True), _rebuild(False))]
