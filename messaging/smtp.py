"""SMTP delivery that keeps the mail server's reply to each message, so the outbox row can
record what the provider answered (its queue id, typically) beside the Message-ID."""

from __future__ import annotations

import smtplib

from django.core.mail.backends import smtp


class _KeepsReply:
    last_reply = ""

    def data(self, msg):
        code, reply = super().data(msg)
        self.last_reply = f"{code} {reply.decode(errors='replace')}"
        return code, reply


class RecordingSMTP(_KeepsReply, smtplib.SMTP):
    pass


class RecordingSMTPSSL(_KeepsReply, smtplib.SMTP_SSL):
    pass


class EmailBackend(smtp.EmailBackend):
    """Django's SMTP backend; ``last_reply`` is the server's answer to the last message sent."""

    last_reply = ""

    @property
    def connection_class(self):
        return RecordingSMTPSSL if self.use_ssl else RecordingSMTP

    def _send(self, email_message):
        self.last_reply = ""
        sent = super()._send(email_message)
        # Read before send_messages closes the connection it opened for this message.
        self.last_reply = getattr(self.connection, "last_reply", "")
        return sent


def server_reply(connection) -> str:
    """What the mail backend said about the message it just took."""
    if isinstance(connection, EmailBackend):
        return connection.last_reply or "accepted"
    return f"accepted by {type(connection).__module__}"


def is_permanent(error: Exception) -> bool:
    """A 5xx reply: the server will refuse this message whatever we do, so trying again in a
    minute only delays the failure staff must see. 4xx replies and broken connections pass."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False
