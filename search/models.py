"""What search reads: one document per incident, and the vocabulary for typo fixes.

The document holds the incident's text flattened into four fields of falling weight. The
full-text index over them is the database's own (see search/backends/): on PostgreSQL a
stored, weighted tsvector generated from these columns with a GIN index; on SQLite an FTS5
table kept in step by triggers. Neither appears here because Django has no field for them.
"""

from django.db import models

from incidents.models import Incident


class SearchDocument(models.Model):
    incident = models.OneToOneField(
        Incident, primary_key=True, on_delete=models.CASCADE, related_name="search_document"
    )
    title = models.TextField()  # weight A
    # weight B: category paths, service names, the parts of compound words (never shown)
    labels = models.TextField(blank=True)
    summary = models.TextField(blank=True)  # weight C: summary, causes, remediation titles
    body = models.TextField(blank=True)  # weight D: report, timeline, remediation descriptions
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "search_document"

    def __str__(self) -> str:
        return self.title


class SearchWord(models.Model):
    """Every word that occurs in some document: typo fixes are drawn from these."""

    word = models.CharField(max_length=64, primary_key=True)

    class Meta:
        db_table = "search_word"

    def __str__(self) -> str:
        return self.word
