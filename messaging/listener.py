"""The worker side of "send now": a thread in each Celery worker that LISTENs on PostgreSQL.

A web request that writes a message to send at once only issues ``pg_notify`` in its own
transaction (services.outbox_notify); it never talks to the broker, so a stopped or hung Redis
cannot slow a booking down. The listener wakes on the notification, claims what is due with the
same SKIP LOCKED claim as Celery beat's dispatch, and hands the ids to the pool. Several workers
listening at once is fine: each row is claimed once. If the database connection breaks, the
listener reconnects and claims once, for what became due while it was away; beat's periodic
dispatch remains the safety net either way.
"""

from __future__ import annotations

import logging
import select
import threading

import psycopg2
from django.db import close_old_connections, connections

from messaging import services

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 5.0


class OutboxListener(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="outbox-listener", daemon=True)
        self.stopping = threading.Event()
        self.dispatches = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                self._listen()
                backoff = 0.5
            except (psycopg2.Error, OSError):
                logger.warning("Outbox listener lost the database; retrying in %.1f s.", backoff, exc_info=True)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
            finally:
                connections.close_all()

    def _listen(self) -> None:
        params = connections["default"].get_connection_params()
        listen = psycopg2.connect(**params)
        try:
            listen.autocommit = True
            with listen.cursor() as cursor:
                cursor.execute(f"LISTEN {services.NOTIFY_CHANNEL}")
            logger.info("Outbox listener is listening for messages to send now.")
            self._dispatch()  # what became due while nobody listened
            while not self.stopping.is_set():
                ready, _, _ = select.select([listen], [], [], POLL_SECONDS)
                if not ready:
                    continue
                listen.poll()
                if listen.notifies:
                    listen.notifies.clear()
                    self._dispatch()
        finally:
            listen.close()

    def _dispatch(self) -> None:
        close_old_connections()
        claimed = services.messages_claim_due()
        self.dispatches += 1
        if claimed:
            logger.info("Outbox listener handed %d message(s) to the workers.", len(claimed))


_listener: OutboxListener | None = None


def start() -> OutboxListener:
    global _listener  # one listener per worker process
    if _listener is None or not _listener.is_alive():
        _listener = OutboxListener()
        _listener.start()
    return _listener


def stop() -> None:
    if _listener is not None:
        _listener.stop()
