"""Consents signed by the patient on the clinic's tablet: the drawn signature, the typed name,
the time and a SHA-256 over them and the text version. Records made before keep all four empty.

A trigger makes every consent record unchangeable whatever code (admin, shell) tries: only the
withdrawal may be added, once. Deleting a consent record is refused too."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_email_unsubscribe"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="consentrecord",
            name="signature_png",
            field=models.BinaryField(blank=True, db_default=b"", default=b""),
        ),
        migrations.AddField(
            model_name="consentrecord",
            name="signature_sha256",
            field=models.CharField(blank=True, db_default="", default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="consentrecord",
            name="signed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="consentrecord",
            name="signed_name",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                max_length=200,
                verbose_name="name typed by the patient",
            ),
        ),
        migrations.AddConstraint(
            model_name="consentrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("signed_at__isnull", True),
                        ("signed_name", ""),
                        ("signature_sha256", ""),
                        ("signature_png", b""),
                    ),
                    models.Q(
                        ("signed_at__isnull", False),
                        models.Q(("signed_name", ""), _negated=True),
                        ("signature_sha256__regex", "^[0-9a-f]{64}$"),
                        models.Q(("signature_png", b""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="consentrecord_signature_complete",
            ),
        ),
        migrations.RunSQL(
            sql="""
            CREATE OR REPLACE FUNCTION patients_consentrecord_unchangeable() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION 'consent records are never deleted (record %)', OLD.id
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                IF (NEW.id, NEW.patient_id, NEW.document_id, NEW.given_at, NEW.witnessed_by_id,
                    NEW.recorded_by_id, NEW.recorded_at, NEW.signature_png, NEW.signed_name,
                    NEW.signed_at, NEW.signature_sha256)
                   IS DISTINCT FROM
                   (OLD.id, OLD.patient_id, OLD.document_id, OLD.given_at, OLD.witnessed_by_id,
                    OLD.recorded_by_id, OLD.recorded_at, OLD.signature_png, OLD.signed_name,
                    OLD.signed_at, OLD.signature_sha256) THEN
                    RAISE EXCEPTION 'a consent record cannot be changed, only withdrawn (record %)', OLD.id
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                IF OLD.withdrawn_at IS NOT NULL
                   AND (NEW.withdrawn_at, NEW.withdrawn_by_id, NEW.withdrawal_reason)
                       IS DISTINCT FROM (OLD.withdrawn_at, OLD.withdrawn_by_id, OLD.withdrawal_reason) THEN
                    RAISE EXCEPTION 'a withdrawn consent cannot be changed (record %)', OLD.id
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER patients_consentrecord_unchangeable
                BEFORE UPDATE OR DELETE ON patients_consentrecord
                FOR EACH ROW EXECUTE FUNCTION patients_consentrecord_unchangeable();
            """,
            reverse_sql="""
            DROP TRIGGER IF EXISTS patients_consentrecord_unchangeable ON patients_consentrecord;
            DROP FUNCTION IF EXISTS patients_consentrecord_unchangeable();
            """,
        ),
    ]
