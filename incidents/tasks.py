"""Celery tasks of incidents: thin and idempotent (CONVENTIONS.md, "Tasks")."""

from __future__ import annotations

from celery import shared_task

from incidents import images


@shared_task
def delete_abandoned_images() -> int:
    """Pictures uploaded for a new incident that was never saved (incidents/images.py)."""
    return images.delete_abandoned()
