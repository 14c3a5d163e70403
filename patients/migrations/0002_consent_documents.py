"""The first versions of the consent texts a clinic needs from day one."""

import datetime

from django.db import migrations

MESOTHERAPY = """I agree to facial mesotherapy: a course of injections of a cocktail of vitamins, minerals, \
hyaluronic acid and other medical-grade products into the skin of my face, by needle, meso-pen or \
needle-free device, after a numbing cream.

I have been told that redness, swelling, slight bruising and tenderness at the injection sites are \
common and usually fade within a day or two; that infection, allergic reaction, lumps and \
pigmentation changes are rare; that results vary and a course of four to six weekly sessions is \
usually needed, with maintenance every 6 to 12 months.

I have given a complete and true medical history, including medicines, allergies, pregnancy or \
breastfeeding, and I will tell the clinic of any change before each session. I may withdraw this \
consent at any time."""

PHOTOGRAPHY = """I agree that the clinic takes photographs of my face before, during and after treatment, \
to record the treatment and its results. They are kept with my confidential clinical record, are \
seen only by the clinicians treating me, and are not published or shared without my separate \
written consent. I may withdraw this consent at any time; photographs already taken remain part of \
my clinical record."""


def forwards(apps, schema_editor):
    ConsentDocument = apps.get_model("patients", "ConsentDocument")
    start = datetime.date(2026, 1, 1)
    ConsentDocument.objects.get_or_create(
        procedure="mesotherapy",
        version=1,
        defaults={"title": "Consent to facial mesotherapy", "body": MESOTHERAPY, "effective_from": start},
    )
    ConsentDocument.objects.get_or_create(
        procedure="photography",
        version=1,
        defaults={"title": "Consent to clinical photography", "body": PHOTOGRAPHY, "effective_from": start},
    )


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
