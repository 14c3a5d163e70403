.PHONY: run test lint format check bench bench-reports bench-scale

# The settings fail closed (production) unless DEBUG is true: these are development commands.
export DEBUG ?= true

run:  ## set up and run the app with demo data, worker and beat
	bin/run

test:  ## run every test
	bin/test

lint:  ## ruff, Django checks, migrations up to date
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python manage.py check
	.venv/bin/python manage.py makemigrations --check --dry-run

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench:  ## generate a large clinic if needed, time calendars/search/booking/load, append to docs/benchmarks.md
	.venv/bin/python tests/perf/bench_clinic.py

bench-reports:  ## time each manager report on the large clinic (median against 200 ms)
	.venv/bin/python tests/perf/bench_reports.py

bench-scale:  ## the same, then again on a 300,000-patient, 60-practitioner clinic (built the first time, ~3 min)
	.venv/bin/python tests/perf/bench_clinic.py --scale
