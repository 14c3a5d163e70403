"""The outbox's part of /healthz (clinic/health.py): the oldest message that is due and still
pending. Beat hands due messages to the workers every MESSAGE_DISPATCH_INTERVAL_SECONDS, so
one waiting much longer means beat or the workers are not running (or the broker is down)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from clinic.health import Check
from messaging.models import ScheduledMessage


def outbox() -> Check:
    now = timezone.now()
    oldest = ScheduledMessage.objects.filter(status=ScheduledMessage.Status.PENDING, due_at__lte=now).aggregate(
        oldest=Min("due_at")
    )["oldest"]
    waited = 0 if oldest is None else int((now - oldest).total_seconds())
    limit = settings.HEALTH_OUTBOX_MAX_DELAY_SECONDS
    if waited > limit:
        return Check("outbox", False, f"oldest due message waiting {waited} s (limit {limit} s)")
    return Check("outbox", True, f"oldest due message waiting {waited} s")
