"""A confirmed retention purge may delete a patient's signed records, and nothing else may.

Signed consultations and sessions (treatments) and consent records (here) are locked by
triggers. Once a record's retention period is over and a manager has confirmed its purge
(patients/erasure.py retention_purge marks the pending request decided before deleting), the
triggers let DELETE through for that patient's rows only; UPDATE stays refused as before.
"""

from django.db import migrations

PURGE_CONFIRMED = """
CREATE OR REPLACE FUNCTION patients_retention_purge_confirmed(patient bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM patients_erasurerequest
        WHERE patient_id = patient AND source = 'retention' AND outcome = 'pending'
          AND decided_at IS NOT NULL AND retain_until < decided_at::date
    )
$$;
"""

CONSENT_LOCK = """
CREATE OR REPLACE FUNCTION patients_consentrecord_unchangeable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF patients_retention_purge_confirmed(OLD.patient_id) THEN
            RETURN OLD;
        END IF;
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
"""

CONSENT_LOCK_BEFORE = CONSENT_LOCK.replace(
    """        IF patients_retention_purge_confirmed(OLD.patient_id) THEN
            RETURN OLD;
        END IF;
""",
    "",
)


class Migration(migrations.Migration):
    dependencies = [("patients", "0007_patient_import")]

    operations = [
        migrations.RunSQL(
            sql=PURGE_CONFIRMED + CONSENT_LOCK,
            reverse_sql=CONSENT_LOCK_BEFORE + "DROP FUNCTION IF EXISTS patients_retention_purge_confirmed(bigint);",
        )
    ]
