"""Types shared by several apps, for annotations only."""

from typing import TypedDict


class RetryOptions(TypedDict):
    """The retry options a module's Celery tasks share: `@shared_task(**RETRY)`."""

    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: bool
    retry_backoff_max: int
    max_retries: int
