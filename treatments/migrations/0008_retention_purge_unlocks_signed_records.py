"""Signed consultations and sessions may be deleted by a confirmed retention purge of their
patient (see patients/migrations/0008), and by nothing else."""

from django.db import migrations

LOCK = """
CREATE OR REPLACE FUNCTION treatments_signed_record_locked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IS DISTINCT FROM 'signed' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF patients_retention_purge_confirmed(OLD.patient_id) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'signed record % % is locked: it cannot be deleted', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - 'updated_at') IS DISTINCT FROM (to_jsonb(OLD) - 'updated_at') THEN
        RAISE EXCEPTION 'signed record % % is locked: add an addendum instead of changing it', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
"""

LOCK_BEFORE = LOCK.replace(
    """        IF patients_retention_purge_confirmed(OLD.patient_id) THEN
            RETURN OLD;
        END IF;
""",
    "",
)


class Migration(migrations.Migration):
    dependencies = [
        ("treatments", "0007_lock_signed_records"),
        ("patients", "0008_retention_purge_unlocks_signed_records"),
    ]

    operations = [migrations.RunSQL(sql=LOCK, reverse_sql=LOCK_BEFORE)]
