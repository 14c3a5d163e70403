"""Celery tasks: thin wrappers around the outbox services, and the worker's outbox listener."""

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown

from messaging import listener, services


@shared_task(name="messaging.dispatch_due_messages", ignore_result=True)
def dispatch_due_messages() -> int:
    """Run by Celery beat every minute: claim due rows and queue their delivery."""
    return len(services.messages_claim_due())


@shared_task(name="messaging.deliver_messages", ignore_result=True, acks_late=True)
def deliver_messages(message_ids: list[int]) -> dict[str, int]:
    return services.messages_deliver(message_ids)


@shared_task(name="messaging.deliver_message", ignore_result=True, acks_late=True)
def deliver_message(message_id: int) -> str:
    return services.message_deliver(message_id)


@worker_ready.connect
def _start_outbox_listener(**kwargs) -> None:
    listener.start()


@worker_shutdown.connect
def _stop_outbox_listener(**kwargs) -> None:
    listener.stop()
