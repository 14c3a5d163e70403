"""Celery tasks of the patients app: thin wrappers around services."""

from celery import shared_task

from patients import erasure


@shared_task(name="patients.review_retention", ignore_result=True)
def review_retention() -> int:
    """Run daily by Celery beat: list the records past their retention date for a manager."""
    return erasure.retention_review()
