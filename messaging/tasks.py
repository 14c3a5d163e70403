"""Celery tasks: thin wrappers around the outbox services."""

from celery import shared_task

from messaging import services


@shared_task(name="messaging.dispatch_due_messages", ignore_result=True)
def dispatch_due_messages() -> int:
    """Run by Celery beat every minute: claim due rows and queue their delivery."""
    return len(services.messages_claim_due())


@shared_task(name="messaging.deliver_message", ignore_result=True, acks_late=True)
def deliver_message(message_id: int) -> str:
    return services.message_deliver(message_id)
