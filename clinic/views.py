from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clinic.forms import AuditFilterForm
from clinic.permissions import VIEW_AUDIT_TRAIL
from clinic.selectors import audit_entries


@require_GET
@login_required
def home(request):
    return render(request, "clinic/home.html")


@require_GET
@login_required
@permission_required(VIEW_AUDIT_TRAIL, raise_exception=True)
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    entries = audit_entries()
    if form.is_bound and form.is_valid():
        entries = audit_entries(
            patient_id=form.cleaned_data["patient"],
            user=form.cleaned_data["user"],
            action=form.cleaned_data["action"],
            outcome=form.cleaned_data["outcome"],
            date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"],
        )
    elif form.is_bound:
        entries = entries.none()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "clinic/audit_list.html", {"form": form, "page": page, "query": query.urlencode()})
