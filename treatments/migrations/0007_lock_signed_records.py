"""Signed consultations and session records are locked in PostgreSQL itself, whatever code (or
admin, or shell) tries: an UPDATE that changes a signed row's content and any DELETE of a signed
row are refused. The draft -> signed UPDATE is allowed (the old row is a draft); ``updated_at``
is row bookkeeping and may move. Addenda, ratings, photos and overrides are other tables and
stay insertable."""

from django.db import migrations

TABLES = ["treatments_consultation", "treatments_treatmentsession"]

FUNCTION = """
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

TRIGGERS = "\n".join(
    f"""
CREATE TRIGGER {table}_signed_locked
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION treatments_signed_record_locked();
"""
    for table in TABLES
)

DROP = "\n".join(f"DROP TRIGGER IF EXISTS {table}_signed_locked ON {table};" for table in TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("treatments", "0006_session_duration_at_most_an_hour"),
    ]

    operations = [
        migrations.RunSQL(
            sql=FUNCTION + TRIGGERS,
            reverse_sql=DROP + "\nDROP FUNCTION IF EXISTS treatments_signed_record_locked();",
        ),
    ]
