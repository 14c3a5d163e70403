"""Benchmark (not a test): each manager report on a large generated clinic, median and p95
against the 200 ms target, for the default period (the last 91 days) and for a whole year.

    make bench-reports     # or: .venv/bin/python tests/perf/bench_reports.py [--runs 20]

Database: BENCH_DATABASE_URL, else DATABASE_URL, else postgres://127.0.0.1:5432/clinic_large.

The database must hold a generated clinic (``manage.py migrate && manage.py seed_large
--patients 100000 --practitioners 20 --years 1``). Reports only read: nothing is written.
Each time is the report's SQL plus the shaping of its rows into table and chart, as the page
and the CSV run them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# The benchmarks' database (BENCH_DATABASE_URL, as bench_clinic.py), else DATABASE_URL, else clinic_large.
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", os.environ.get("DATABASE_URL", "postgres://127.0.0.1:5432/clinic_large")
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

TARGET_MS = 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from patients.models import Patient
    from reports.forms import PeriodForm
    from reports.reports import REPORTS
    from reports.selectors import Period, without_jit

    today = timezone.localdate()
    periods = {
        "91 days": PeriodForm.default_period(),
        "1 year": Period(date_from=today - timedelta(days=364), date_to=today),
    }
    print(f"Database {connection.settings_dict['NAME']}: {Patient.objects.count():,} patients")
    print(f"{'report':<24} {'period':<8} {'median':>9} {'p95':>9} {'target':>8}")
    misses = []
    for slug, build in REPORTS.items():
        for label, period in periods.items():
            with without_jit():
                build(period)  # warm the connection and the caches, as a running server has them
            timings = []
            for _ in range(args.runs):
                started = time.perf_counter()
                with without_jit():  # as the page and the CSV run them
                    build(period)
                timings.append((time.perf_counter() - started) * 1000)
            median = statistics.median(timings)
            p95 = sorted(timings)[max(0, round(0.95 * len(timings)) - 1)]
            verdict = "PASS" if median < TARGET_MS else "MISS"
            if verdict == "MISS":
                misses.append(f"{slug} ({label})")
            print(f"{slug:<24} {label:<8} {median:>7.1f}ms {p95:>7.1f}ms {TARGET_MS:>6}ms  {verdict}", flush=True)
    print()
    print("All targets met." if not misses else f"Targets missed: {'; '.join(misses)}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
