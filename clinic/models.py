from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """One read or write of clinical data or contact details, a patient search, a refused
    access, or a sign-in event. Append-only: database triggers refuse UPDATE, DELETE and
    TRUNCATE on this table, and nothing in the application offers any of them.

    It records who did what to which record and from where, never the data itself (a search
    keeps the text typed, never the patients it found). Each entry is chained to the one before
    it by a hash that PostgreSQL computes on insert (migration 0005); ``manage.py verify_audit``
    checks the chain.
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        WITHDRAW = "withdraw", "Withdrew"
        SIGN = "sign", "Signed"
        ADDENDUM = "addendum", "Added an addendum"
        OVERRIDE = "override", "Overrode a safety check"
        PRINT = "print", "Printed"
        DOWNLOAD = "download", "Downloaded"
        DELETE = "delete", "Deleted"
        SEARCH = "search", "Searched"
        LOGIN = "login", "Signed in"
        LOGIN_FAILED = "login_failed", "Failed to sign in"
        LOGOUT = "logout", "Signed out"
        # Staff accounts (clinic/accounts/): the record is the account, never a patient's.
        INVITE = "invite", "Invited a staff member"
        SET_PASSWORD = "set_password", "Set own password from an invitation"
        CHANGE_ROLES = "change_roles", "Changed roles"
        DEACTIVATE = "deactivate", "Deactivated an account"
        REACTIVATE = "reactivate", "Reactivated an account"
        LOCKOUT = "lockout", "Locked out after failed logins"
        UNLOCK = "unlock", "Unlocked an account"
        RESET_2FA = "reset_2fa", "Reset two-factor authentication"

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Allowed"
        REFUSED = "refused", "Refused"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="audit_entries"
    )
    # No database constraint: the trail must outlive anything it speaks about.
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=60, help_text="What kind of record, e.g. medical history entry.")
    object_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.ALLOWED)
    query = models.CharField(max_length=200, blank=True, help_text="The text of a patient search.")
    username = models.CharField(max_length=150, blank=True, help_text="The username tried, for sign-in events.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # Set by the database on insert (see the migration); whatever the application sends is replaced.
    chain_seq = models.BigIntegerField(null=True, unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    row_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["patient", "-at"], name="audit_patient_at"),
            models.Index(fields=["user", "-at"], name="audit_user_at"),
        ]

    def __str__(self) -> str:
        refused = " (refused)" if self.outcome == self.Outcome.REFUSED else ""
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action}{refused} {self.object_type} {self.object_id}"
