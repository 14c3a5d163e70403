"""Benchmark: import a CSV file of 10,000 patients (patients/importing.py) and print the time of
each step: upload checks, dry run (validation and duplicate lookups), import.

    .venv/bin/python tests/perf/bench_import.py [--rows 10000] [--existing 20000]

Uses its own database (BENCH_DATABASE_URL, default postgres://127.0.0.1:5432/clinic_bench_import),
created and migrated on first use. ``--existing`` registered patients are there first (made once),
so the duplicate lookups search a realistic table. The imported patients are deleted at the end.
Target: the whole import under 30 seconds. A benchmark, not a test: it prints, it never fails
a build.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://127.0.0.1:5432/clinic_bench_import")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
TARGET_SECONDS = 30.0
FIRST_NAMES = ["Zoë", "Ana", "Léa", "John", "Mary", "Chloé", "Omar", "Ines", "Björn", "Siobhán"]
LAST_NAMES = ["Núñez", "Smith", "Dubois", "O'Brien", "Müller", "García", "Khan", "Rossi", "Lefèvre", "Jones"]


def csv_text(rows: int) -> str:
    lines = ["Surname,Forename,DOB,Gender,Mobile,Email,Town,Consent"]
    for index in range(rows):
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = f"{LAST_NAMES[index // len(FIRST_NAMES) % len(LAST_NAMES)]}-{index}"
        born = f"{1 + index % 28:02d}/{1 + index % 12:02d}/{1950 + index % 50}"
        phone = f"07400 {100000 + index}"
        lines.append(f"{last},{first},{born},{'FM'[index % 2]},{phone},import{index}@example.com,Leeds,yes")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--existing", type=int, default=20_000)
    options = parser.parse_args()
    if options.rows > 99_999:
        parser.error("--rows: at most 99,999 (the generated phone numbers would run out)")

    subprocess.run([sys.executable, str(ROOT / "bin" / "ensure_database.py")], check=True)  # noqa: S603
    import django

    django.setup()
    from datetime import date

    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test.utils import override_settings

    from patients import importing
    from patients.models import Patient, PatientImport

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench-import")
    have = Patient.objects.filter(last_name__startswith="Existing-").count()
    if have < options.existing:
        Patient.objects.bulk_create(
            (
                Patient(
                    first_name=FIRST_NAMES[index % len(FIRST_NAMES)],
                    last_name=f"Existing-{index}",
                    date_of_birth=date(1950 + index % 50, 1 + index % 12, 1 + index % 28),
                    sex=Patient.Sex.FEMALE,
                    phone=f"+447400{200000 + index}",
                    email=f"existing{index}@example.com",
                )
                for index in range(have, options.existing)
            ),
            batch_size=2000,
        )
    content = csv_text(options.rows).encode()
    print(f"{options.rows:,} rows ({len(content) / 1_000_000:.1f} MB) against {options.existing:,} registered patients")
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")

    with override_settings(PATIENT_IMPORT_MAX_ROWS=max(options.rows, 50_000)):
        started = time.perf_counter()
        upload = importing.import_upload(upload=SimpleUploadedFile("bench.csv", content, "text/csv"), uploaded_by=user)
        uploaded = time.perf_counter()
        importing.import_set_mapping(patient_import=upload, mapping=upload.mapping)
        check = importing.import_check(upload)
        checked = time.perf_counter()
        if not check.ok:
            print(f"the generated file has errors, e.g. {check.errors[:3]}")
            return 1
        count = importing.import_run(patient_import=upload, imported_by=user)
        finished = time.perf_counter()

    total = finished - started
    print(f"upload checks  {uploaded - started:7.2f} s")
    print(f"dry run        {checked - uploaded:7.2f} s  ({options.rows / (checked - uploaded):,.0f} rows/s)")
    print(f"import         {finished - checked:7.2f} s  (checks again, then bulk_create of {count:,})")
    verdict = "PASS" if total < TARGET_SECONDS else "MISS"
    print(f"total          {total:7.2f} s  {verdict} (target < {TARGET_SECONDS:.0f} s)")

    Patient.objects.filter(email__startswith="import", email__endswith="@example.com").delete()
    PatientImport.objects.filter(pk=upload.pk).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
