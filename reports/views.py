"""The managers' reports: one page with every figure for a chosen period, and a CSV of each."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic.permissions import VIEW_REPORTS
from patients.access import require_perm
from reports.forms import PeriodForm
from reports.reports import REPORTS
from reports.selectors import without_jit

# A cell a spreadsheet would run as a formula is written as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _period_form(request) -> PeriodForm:
    if "date_from" in request.GET or "date_to" in request.GET:
        return PeriodForm(request.GET)
    default = PeriodForm.default_period()
    return PeriodForm({"date_from": default.date_from, "date_to": default.date_to})


@require_GET
@login_required
@never_cache
def index(request):
    require_perm(request.user, VIEW_REPORTS)
    form = _period_form(request)
    if not form.is_valid():
        return render(request, "reports/index.html", {"form": form, "reports": []}, status=400)
    period = form.period
    with without_jit():
        reports = [build(period) for build in REPORTS.values()]
    query = f"date_from={period.date_from.isoformat()}&date_to={period.date_to.isoformat()}"
    return render(request, "reports/index.html", {"form": form, "reports": reports, "period": period, "query": query})


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@require_GET
@login_required
@never_cache
def report_csv(request, slug: str):
    require_perm(request.user, VIEW_REPORTS)
    build = REPORTS.get(slug)
    if build is None:
        raise Http404("There is no such report.")
    form = _period_form(request)
    if not form.is_valid():
        problems = " ".join(error for errors in form.errors.values() for error in errors)
        return HttpResponse(f"The period is not valid: {problems}", status=400, content_type="text/plain")
    period = form.period
    with without_jit():
        report = build(period)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{slug}_{period.date_from.isoformat()}_{period.date_to.isoformat()}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(report.columns)
    writer.writerows([_cell(value) for value in row] for row in report.rows)
    return response
