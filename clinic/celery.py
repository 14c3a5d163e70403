"""The Celery application. Tasks live in each app's tasks.py and are found automatically."""

import os
from functools import partial

from celery import Celery
from celery.worker.consumer import Consumer as CeleryConsumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class Consumer(CeleryConsumer):
    """Celery's consumer, retrying a lost broker every few seconds rather than backing off to
    30 s: messages due meanwhile wait in PostgreSQL, and they go out as soon as Redis is back.

    Selected by the ``worker_consumer`` setting (CELERY_WORKER_CONSUMER).
    """

    def ensure_connected(self, conn):
        from django.conf import settings

        ceiling = float(settings.CELERY_BROKER_RECONNECT_MAX_SECONDS)
        conn.ensure_connection = partial(
            conn.ensure_connection, interval_start=min(1.0, ceiling), interval_step=1.0, interval_max=ceiling
        )
        return super().ensure_connected(conn)
