"""Search that forgives misspellings: the words of every search key in patients_nameword,
kept by statement-level triggers on patients_patient, and a GIN index on each patient's
words (patients/selectors.py looks a misspelt word's neighbours up in the first and finds
their bearers through the second)."""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.db import migrations, models

COLLECT = """
CREATE OR REPLACE FUNCTION patients_nameword_collect() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO patients_nameword (word)
    SELECT DISTINCT word FROM new_rows, unnest(regexp_split_to_array(new_rows.search_key, '[ .-]+')) AS word
    WHERE word <> ''
    ON CONFLICT (word) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER patients_nameword_on_insert AFTER INSERT ON patients_patient
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION patients_nameword_collect();
CREATE TRIGGER patients_nameword_on_update AFTER UPDATE ON patients_patient
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION patients_nameword_collect();
INSERT INTO patients_nameword (word)
SELECT DISTINCT word FROM patients_patient AS new_rows, unnest(regexp_split_to_array(new_rows.search_key, '[ .-]+')) AS word
WHERE word <> ''
ON CONFLICT (word) DO NOTHING;
"""

DROP = """
DROP TRIGGER IF EXISTS patients_nameword_on_insert ON patients_patient;
DROP TRIGGER IF EXISTS patients_nameword_on_update ON patients_patient;
DROP FUNCTION IF EXISTS patients_nameword_collect();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0009_patient_created_at_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="NameWord",
            fields=[
                ("word", models.TextField(primary_key=True, serialize=False)),
            ],
        ),
        migrations.AddIndex(
            model_name="patient",
            index=django.contrib.postgres.indexes.GinIndex(
                models.Func(
                    "search_key",
                    models.Value("[ .-]+"),
                    function="regexp_split_to_array",
                    output_field=django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), size=None),
                ),
                name="patient_search_words",
            ),
        ),
        migrations.RunSQL(sql=COLLECT, reverse_sql=DROP),
    ]
