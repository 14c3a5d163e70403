"""The audit trail becomes tamper-evident and cannot be emptied.

- Every entry carries ``chain_seq`` (its place in the chain), ``prev_hash`` (the hash of the
  entry before it) and ``row_hash`` (SHA-256 of the entry's own columns and ``prev_hash``), all
  set by a BEFORE INSERT trigger under a transaction-level advisory lock, so concurrent writers
  append one after the other and the chain never forks. ``manage.py verify_audit`` recomputes
  the chain and names the first broken link.
- A BEFORE TRUNCATE trigger refuses TRUNCATE to every role but a PostgreSQL superuser (who can
  bypass any trigger anyway; the test suite's flush runs as one). UPDATE and DELETE stay refused
  to everyone by the append-only trigger of 0001.

Existing entries are chained in id order, once, here.

The hash covers every column of the row (as jsonb), so a later migration that adds a column to
the audit table changes what the old rows hash to: such a migration must re-chain the table the
way BACKFILL_SQL does here (as the owner, in the same migration), or verify_audit reports it.
"""

from django.db import migrations, models

DIGEST_SQL = """
-- What an entry's hash covers: every column but the hash itself, as canonical jsonb text, with
-- the time as microseconds since the epoch so the session's TimeZone cannot change the text.
CREATE OR REPLACE FUNCTION clinic_auditentry_digest(entry clinic_auditentry) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(
        ((to_jsonb(entry) - 'row_hash')
         || jsonb_build_object('at', floor(extract(epoch FROM entry.at) * 1000000)::bigint))::text,
        'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION clinic_auditentry_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    -- One writer at a time until commit: the next one then sees this entry as the last.
    PERFORM pg_advisory_xact_lock(hashtext('clinic_auditentry_chain'));
    SELECT chain_seq, row_hash INTO last_seq, last_hash
        FROM clinic_auditentry ORDER BY chain_seq DESC LIMIT 1;
    NEW.chain_seq := COALESCE(last_seq, 0) + 1;
    NEW.prev_hash := COALESCE(last_hash, repeat('0', 64));
    NEW.row_hash := clinic_auditentry_digest(NEW);
    RETURN NEW;
END $$;

CREATE TRIGGER clinic_auditentry_chain
    BEFORE INSERT ON clinic_auditentry
    FOR EACH ROW EXECUTE FUNCTION clinic_auditentry_chain();

CREATE OR REPLACE FUNCTION clinic_auditentry_no_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) THEN
        RAISE EXCEPTION 'the audit trail cannot be truncated'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER clinic_auditentry_no_truncate
    BEFORE TRUNCATE ON clinic_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_auditentry_no_truncate();
"""

BACKFILL_SQL = """
ALTER TABLE clinic_auditentry DISABLE TRIGGER clinic_auditentry_append_only;
DO $$
DECLARE
    entry clinic_auditentry;
    seq bigint := 0;
    previous text := repeat('0', 64);
BEGIN
    FOR entry IN SELECT * FROM clinic_auditentry ORDER BY id LOOP
        seq := seq + 1;
        entry.chain_seq := seq;
        entry.prev_hash := previous;
        entry.row_hash := clinic_auditentry_digest(entry);
        UPDATE clinic_auditentry
            SET chain_seq = entry.chain_seq, prev_hash = entry.prev_hash, row_hash = entry.row_hash
            WHERE id = entry.id;
        previous := entry.row_hash;
    END LOOP;
END $$;
ALTER TABLE clinic_auditentry ENABLE TRIGGER clinic_auditentry_append_only;
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS clinic_auditentry_no_truncate ON clinic_auditentry;
DROP FUNCTION IF EXISTS clinic_auditentry_no_truncate();
DROP TRIGGER IF EXISTS clinic_auditentry_chain ON clinic_auditentry;
DROP FUNCTION IF EXISTS clinic_auditentry_chain();
DROP FUNCTION IF EXISTS clinic_auditentry_digest(clinic_auditentry);
"""


class Migration(migrations.Migration):
    dependencies = [("clinic", "0004_audit_outcome_search_and_sign_in_events")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="chain_seq",
            field=models.BigIntegerField(editable=False, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="prev_hash",
            field=models.CharField(editable=False, max_length=64, blank=True, default=""),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="row_hash",
            field=models.CharField(editable=False, max_length=64, blank=True, default=""),
        ),
        migrations.RunSQL(sql=DIGEST_SQL + BACKFILL_SQL, reverse_sql=REVERSE_SQL),
    ]
