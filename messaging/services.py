"""Writing, claiming and delivering outbox rows."""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from messaging.emails import EmailContent, builder_for, prefetch_subjects, render_email
from messaging.links import unsubscribe_url
from messaging.models import UNSUBSCRIBED, ScheduledMessage
from messaging.smtp import is_permanent, server_reply
from patients.services import patient_unsubscribe_emails

logger = logging.getLogger(__name__)

Status = ScheduledMessage.Status
Kind = ScheduledMessage.Kind

# Kinds that are a service to a booked appointment (or, for a batch recall notice, about the
# patient's safety); the others are marketing-like recalls and need the patient's consent to
# reminder emails.
APPOINTMENT_KINDS = {
    Kind.BOOKING_CONFIRMATION,
    Kind.APPOINTMENT_REMINDER,
    Kind.AFTERCARE,
    Kind.NEXT_SESSION_REMINDER,
    Kind.COURSE_COMPLETED,
    Kind.NO_SHOW_FOLLOW_UP,
    Kind.COURSE_CONFIRMATION,
    Kind.APPOINTMENT_CANCELLED,
    Kind.WAITLIST_OFFER,  # asked for by the patient, on the waiting list
    # A question about the skin the day after a session: care, not marketing.
    Kind.NEXT_DAY_CHECK,
    Kind.INTAKE_QUESTIONNAIRE,
    Kind.LOT_RECALL_NOTICE,
}
TRANSIENT_ERRORS = (smtplib.SMTPException, OSError)
# Workers listen on this PostgreSQL channel (messaging/listener.py) for messages to send now.
NOTIFY_CHANNEL = "clinic_outbox"


def outbox_notify() -> None:
    """Tell the workers that a message is due now, without touching the broker.

    PostgreSQL delivers the notification when the surrounding transaction commits (and drops it
    if it rolls back), and folds identical notifications of one transaction into one, so a
    course of six bookings wakes the workers once. No listener, no harm: Celery beat's dispatch
    finds the rows on its next run.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])


def message_schedule(
    *, kind: str, patient, due_at: datetime, dedupe_key: str, subject_ref: str = "", send_now: bool = False
) -> ScheduledMessage:
    """Create the message, or bring an existing one with the same key up to date.

    Call inside the transaction of the change that causes it. A message already sent stays
    sent (it is not sent again); a pending or cancelled one takes the new due time.
    """
    message, created = ScheduledMessage.objects.select_for_update().get_or_create(
        dedupe_key=dedupe_key,
        defaults={"kind": kind, "patient": patient, "due_at": due_at, "subject_ref": subject_ref},
    )
    if not created and message.status in {Status.PENDING, Status.CANCELLED, Status.FAILED}:
        message.due_at = due_at
        message.status = Status.PENDING
        message.enqueued_at = None
        message.attempts = 0
        message.last_error = ""
        message.save(update_fields=["due_at", "status", "enqueued_at", "attempts", "last_error", "updated_at"])
    if message.status == Status.PENDING and patient.email_unsubscribed_at is not None:
        # Kept, so that staff see what the patient was not told, but closed at once.
        message.status = Status.CANCELLED
        message.last_error = UNSUBSCRIBED
        message.save(update_fields=["status", "last_error", "updated_at"])
    if send_now and message.status == Status.PENDING:
        outbox_notify()
    return message


def messages_close_unsubscribed(*, patient) -> int:
    """Close the pending messages of a patient who unsubscribed: cancelled, with the reason
    staff see ("will not be sent: unsubscribed")."""
    return ScheduledMessage.objects.filter(patient=patient, status=Status.PENDING).update(
        status=Status.CANCELLED, last_error=UNSUBSCRIBED, updated_at=timezone.now()
    )


def patient_unsubscribe(*, patient) -> bool:
    """The patient followed an unsubscribe link: no more emails (patients records it) and
    their pending messages closed, in one transaction. False if they had already."""
    with transaction.atomic():
        done = patient_unsubscribe_emails(patient=patient)
        if done:
            messages_close_unsubscribed(patient=patient)
    return done


def messages_schedule_once(
    *, kind: str, recipients: dict[str, int], due_at: datetime, subject_ref: str = "", send_now: bool = False
) -> int:
    """Create one message of ``kind`` per dedupe key of ``recipients`` (key -> patient id) that
    does not exist yet, in a few statements however many there are; a key already there is
    left as it is, whatever its state (the message is sent once). Returns how many were created.
    Call inside the transaction of the change that causes them."""
    wanted = list(recipients)
    before = ScheduledMessage.objects.filter(dedupe_key__in=wanted).count()
    ScheduledMessage.objects.bulk_create(
        [
            ScheduledMessage(kind=kind, patient_id=patient_id, dedupe_key=key, due_at=due_at, subject_ref=subject_ref)
            for key, patient_id in recipients.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    created = ScheduledMessage.objects.filter(dedupe_key__in=wanted).count() - before
    if send_now and created:
        outbox_notify()
    return created


def messages_cancel(*, dedupe_keys: Iterable[str] = (), subject_ref: str = "", reason: str = "") -> int:
    """Cancel the pending messages with these keys, or about this subject."""
    condition = Q(dedupe_key__in=list(dedupe_keys))
    if subject_ref:
        condition |= Q(subject_ref=subject_ref)
    return ScheduledMessage.objects.filter(condition, status=Status.PENDING).update(
        status=Status.CANCELLED, last_error=reason, updated_at=timezone.now()
    )


def enqueue_delivery(message_ids: list[int]) -> bool:
    """Hand ids to the Celery workers, MESSAGE_BATCH_SIZE to a task (each task sends its batch
    over one SMTP connection). Called by the dispatcher (beat, or a worker's listener), never in
    a web request. If the broker is unreachable nothing is lost: the rows stay pending and the
    next dispatch run hands them over again."""
    from messaging.tasks import deliver_messages

    size = settings.MESSAGE_BATCH_SIZE
    try:
        for start in range(0, len(message_ids), size):
            deliver_messages.apply_async(args=[message_ids[start : start + size]], retry=False)
    except Exception:  # the broker's errors differ by transport; any of them means "not now"
        logger.warning("Broker unreachable: %d message(s) wait in the outbox.", len(message_ids), exc_info=True)
        ScheduledMessage.objects.filter(pk__in=message_ids, status=Status.PENDING).update(enqueued_at=None)
        return False
    return True


def messages_claim_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Claim due rows for delivery. Rows are locked with SKIP LOCKED, so two dispatchers
    running at once (two beats by mistake) never take the same row; a row handed over but
    not delivered (lost with the broker or a worker) is handed over again after a while."""
    now = now or timezone.now()
    stale_enqueue = now - timedelta(seconds=settings.MESSAGE_REQUEUE_AFTER_SECONDS)
    stale_claim = now - timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT_SECONDS)
    with transaction.atomic():
        # A worker that died while sending leaves its row in SENDING. The mail server may have
        # accepted the message already: it goes again under the same Message-ID, and counted.
        ScheduledMessage.objects.filter(status=Status.SENDING, claimed_at__lt=stale_claim).update(
            status=Status.PENDING,
            enqueued_at=None,
            reclaims=F("reclaims") + 1,
            last_error=RECLAIMED,
            updated_at=now,
        )
        ids = list(
            ScheduledMessage.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, due_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale_enqueue))
            .order_by("due_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            ScheduledMessage.objects.filter(pk__in=ids).update(enqueued_at=now)
            transaction.on_commit(lambda: enqueue_delivery(ids))
    return ids


RECLAIMED = "The worker stopped while sending; sending again with the same Message-ID (possibly sent twice)."


def _skip_reason(message: ScheduledMessage) -> str:
    patient = message.patient
    if not patient.email:
        return "The patient has no email address."
    if patient.email_unsubscribed_at is not None:
        return UNSUBSCRIBED
    if message.kind not in APPOINTMENT_KINDS and not patient.reminder_emails_consent:
        return "The patient has not consented to reminder emails."
    return ""


class OutboxEmail(EmailMultiAlternatives):
    def message(self):
        """The MIME message, its multipart boundaries chosen here: a random token no rendered
        text can contain. Left to it, the email generator picks random ones too, and compiles a
        regular expression per part to search the text for them, about a fifth of the time it
        takes to write out the message."""
        message = super().message()
        for part in message.walk():
            if part.is_multipart():
                part.set_boundary(f"=_outbox_{secrets.token_hex(16)}")
        return message


def build_email(message: ScheduledMessage, content: EmailContent) -> EmailMultiAlternatives:
    context = {"patient": message.patient, "unsubscribe_url": unsubscribe_url(message.patient_id), **content.context}
    rendered = render_email(message.kind, context)
    email = OutboxEmail(
        subject=rendered.subject,
        body=rendered.text,
        to=[message.patient.email],
        headers={
            "Message-ID": message.message_id,
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        },
    )
    email.attach_alternative(rendered.html, "text/html")
    for filename, payload, mimetype in content.attachments:
        email.attach(filename, payload, mimetype)
    return email


def message_deliver(message_id: int, *, connection=None) -> str:
    """Send one message if it is still pending and due. Returns what happened: "sent",
    "skipped" (someone else has it, or it is not due), "cancelled", "retry" or "failed"."""
    return _Batch([message_id], connection=connection).deliver().get(message_id, "skipped")


def messages_deliver(message_ids: list[int], *, connection=None) -> dict[str, int]:
    """Send a batch of messages over one connection to the mail server (one SMTP session for
    the batch, not one per message). Returns how many ended how (see message_deliver)."""
    outcomes: dict[str, int] = {}
    for outcome in _Batch(message_ids, connection=connection).deliver().values():
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


class _Batch:
    """One delivery batch: its pending, due rows and their patients in one query, what the
    builders need in one or two more per kind (their prefetch), then each message is built,
    claimed, sent and marked sent on its own (one statement per message, see _Journal), so a
    worker that dies mid-batch leaves at most the message it was sending in doubt. A message
    whose builder skips it is cancelled with the reason; one that fails (the server refuses
    it, the connection breaks, its builder raises) is retried or failed alone and the batch
    goes on, over a new connection after an SMTP error."""

    def __init__(self, message_ids: list[int], *, connection=None) -> None:
        self.message_ids = message_ids
        self.own_connection = connection is None
        self.mail = get_connection() if self.own_connection else connection
        self.journal = _Journal()
        self.outcomes = dict.fromkeys(message_ids, "skipped")
        self.cancelled: dict[str, list[int]] = {}  # reason -> ids, closed at the end of the batch

    def deliver(self) -> dict[int, str]:
        messages = list(
            ScheduledMessage.objects.select_related("patient")
            .filter(pk__in=self.message_ids, status=Status.PENDING, due_at__lte=timezone.now())
            .order_by("due_at", "id")
        )
        if not messages:
            return self.outcomes
        prefetch_subjects(messages)
        try:
            with _commits_not_waiting_for_the_disk():
                for message in messages:
                    self.outcomes[message.pk] = self._deliver_one(message)
        finally:
            # Synchronous, the batch's last statement: on disk, with every one before it.
            self.journal.flush()
            if self.own_connection:
                self.mail.close()
        for reason, ids in self.cancelled.items():
            ScheduledMessage.objects.filter(pk__in=ids, status=Status.PENDING).update(
                status=Status.CANCELLED, last_error=reason, updated_at=timezone.now()
            )
        return self.outcomes

    def _deliver_one(self, message: ScheduledMessage) -> str:
        try:
            reason, email = _prepare(message)
        except Exception as error:  # one message's broken builder must not stop the batch
            logger.exception("Message %s could not be built.", message.pk)
            if not self.journal.claim(message):
                return "skipped"
            return _record_failure(message, error, journal=self.journal)
        if reason:
            self.cancelled.setdefault(reason, []).append(message.pk)
            return "cancelled"
        if not self.journal.claim(message):
            return "skipped"  # another worker has it, or it changed since it was read
        try:
            if self.own_connection:
                self.mail.open()  # kept open for the batch; a no-op while it is open
            email.connection = self.mail
            email.send()
        except TRANSIENT_ERRORS as error:
            if self.own_connection:
                self.mail.close()  # the next message opens a new one
            return _record_failure(message, error, journal=self.journal)
        self.journal.sent(message, reply=server_reply(self.mail))
        return "sent"


def _prepare(message: ScheduledMessage) -> tuple[str, EmailMultiAlternatives | None]:
    """Why the message is not sent, or the email to send."""
    reason = _skip_reason(message)
    if reason:
        return reason, None
    builder = builder_for(message.kind)
    content = builder(message) if builder is not None else EmailContent()
    if content.skip:
        return content.skip, None
    return "", build_email(message, content)


@contextmanager
def _commits_not_waiting_for_the_disk():
    """Within a batch, a commit returns once PostgreSQL has it, without waiting for its
    write-ahead log to reach the disk (``synchronous_commit = off``): a flush per message would
    cap a worker at one message per disk flush. Nothing changes for a worker that dies: its
    commits are PostgreSQL's already. Only if PostgreSQL itself stops (a server crash, not a
    clean shutdown) can the last fraction of a second of claims and "sent" marks be lost (at
    most three wal_writer_delay, 0.6 s by default): those messages go again under the same
    Message-ID, without being counted as reclaims. The batch's last statement is synchronous,
    which puts every earlier one on disk with it."""
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO DEFAULT")


_TABLE = ScheduledMessage._meta.db_table
# Marks the message just accepted by the mail server as sent.
_MARK_SENT = f"""UPDATE "{_TABLE}"
    SET status = 'sent', sent_at = %(sent_at)s, recipient = %(recipient)s,
        provider_message_id = %(provider_message_id)s, provider_response = %(provider_response)s,
        last_error = '', updated_at = %(sent_at)s
    WHERE id = %(sent_id)s AND status = 'sending'"""  # noqa: S608 - the table name is ours
# Claims the next message: the row says "sending" before the mail server hears of it.
_CLAIM = f"""UPDATE "{_TABLE}"
    SET status = 'sending', claimed_at = %(now)s, attempts = attempts + 1, updated_at = %(now)s
    WHERE id = %(claim_id)s AND status = 'pending' AND due_at <= %(now)s
    RETURNING attempts"""  # noqa: S608 - the table name is ours
_MARK_SENT_AND_CLAIM = f"WITH sent AS ({_MARK_SENT}) {_CLAIM}"


class _Journal:
    """The rows' state during a batch, one statement per message.

    A message accepted by the mail server is marked sent in the statement that claims the next
    one (or on its own at the end of the batch, or before a failure is recorded): one round
    trip to the database per message, and still written before the next message is sent. So a
    worker that dies leaves at most one row both accepted and not marked: it is in "sending"
    and is reclaimed, sent again under the same Message-ID and counted ("possibly sent twice").
    Rows of the batch the worker never reached are still pending, not in doubt."""

    def __init__(self) -> None:
        self.unmarked: dict | None = None

    def sent(self, message: ScheduledMessage, *, reply: str) -> None:
        self.unmarked = {
            "sent_id": message.pk,
            "sent_at": timezone.now(),
            "recipient": message.patient.email,
            "provider_message_id": message.message_id,
            "provider_response": reply[:500],
        }

    def claim(self, message: ScheduledMessage) -> bool:
        """Take the row for sending (PENDING and due -> SENDING, one more attempt); False when
        someone else has it or it is no longer pending and due."""
        now = timezone.now()
        sql = _CLAIM if self.unmarked is None else _MARK_SENT_AND_CLAIM
        with connection.cursor() as cursor:
            cursor.execute(sql, {**(self.unmarked or {}), "claim_id": message.pk, "now": now})
            row = cursor.fetchone()
        self.unmarked = None
        if row is None:
            return False
        message.attempts = row[0]
        return True

    def flush(self) -> None:
        if self.unmarked is not None:
            unmarked, self.unmarked = self.unmarked, None
            with connection.cursor() as cursor:
                cursor.execute(_MARK_SENT, unmarked)


def _record_failure(message: ScheduledMessage, error: Exception, *, journal: _Journal | None = None) -> str:
    if journal is not None:
        journal.flush()
    text = f"{type(error).__name__}: {error}"[:1000]
    permanent = is_permanent(error)
    if permanent or message.attempts >= settings.MESSAGE_MAX_ATTEMPTS:
        ScheduledMessage.objects.filter(pk=message.pk).update(
            status=Status.FAILED, last_error=text, provider_response=text[:500], updated_at=timezone.now()
        )
        why = "refused for good by the mail server" if permanent else f"failed after {message.attempts} attempts"
        logger.error("Message %s %s: %s", message.pk, why, text)
        return "failed"
    backoff = settings.MESSAGE_RETRY_BACKOFF_SECONDS * 2 ** (message.attempts - 1)
    ScheduledMessage.objects.filter(pk=message.pk).update(
        status=Status.PENDING,
        due_at=timezone.now() + timedelta(seconds=backoff),
        enqueued_at=None,
        last_error=text,
        provider_response=text[:500],
        updated_at=timezone.now(),
    )
    return "retry"


def message_retry(*, message: ScheduledMessage) -> ScheduledMessage:
    """Staff asked to try a failed message again, now."""
    updated = ScheduledMessage.objects.filter(pk=message.pk, status=Status.FAILED).update(
        status=Status.PENDING, due_at=timezone.now(), attempts=0, enqueued_at=None, updated_at=timezone.now()
    )
    if updated:
        outbox_notify()
    message.refresh_from_db()
    return message
