"""The database's own full-text index over search_document: PostgreSQL or SQLite FTS5.

Django has no field type for either, so they live here as SQL, one flavour per vendor.
"""

from django.db import migrations

POSTGRESQL = [
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    ALTER TABLE search_document ADD COLUMN vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', labels), 'B')
        || setweight(to_tsvector('english', summary), 'C')
        || setweight(to_tsvector('english', body), 'D')
    ) STORED
    """,
    "CREATE INDEX search_document_vector ON search_document USING gin (vector)",
    "CREATE INDEX search_word_trigrams ON search_word USING gin (word gin_trgm_ops)",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX search_word_trigrams",
    "ALTER TABLE search_document DROP COLUMN vector",
]

_COLUMNS = "title, labels, summary, body"
_NEW = "new.title, new.labels, new.summary, new.body"
_OLD = "old.title, old.labels, old.summary, old.body"
SQLITE = [
    # External content: the text is stored once, in search_document; FTS5 keeps the index.
    f"""
    CREATE VIRTUAL TABLE search_fts USING fts5(
        {_COLUMNS}, content='search_document', content_rowid='incident_id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    f"""
    CREATE TRIGGER search_document_ai AFTER INSERT ON search_document BEGIN
        INSERT INTO search_fts(rowid, {_COLUMNS}) VALUES (new.incident_id, {_NEW});
    END
    """,
    f"""
    CREATE TRIGGER search_document_ad AFTER DELETE ON search_document BEGIN
        INSERT INTO search_fts(search_fts, rowid, {_COLUMNS})
        VALUES ('delete', old.incident_id, {_OLD});
    END
    """,
    f"""
    CREATE TRIGGER search_document_au AFTER UPDATE ON search_document BEGIN
        INSERT INTO search_fts(search_fts, rowid, {_COLUMNS})
        VALUES ('delete', old.incident_id, {_OLD});
        INSERT INTO search_fts(rowid, {_COLUMNS}) VALUES (new.incident_id, {_NEW});
    END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER search_document_au",
    "DROP TRIGGER search_document_ad",
    "DROP TRIGGER search_document_ai",
    "DROP TABLE search_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        )
    ]
