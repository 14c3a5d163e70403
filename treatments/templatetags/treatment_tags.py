"""Template tags of the treatments app: the patient page panel and the face diagram."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from clinic.dateformats import Dates
from clinic.permissions import (
    CLOSE_FOLLOW_UP_TASK,
    RECORD_CLINICAL,
    TRACE_BATCH,
    VIEW_CLINICAL,
    VIEW_PRODUCT,
    VIEW_RECALLS,
)
from clinic.rows import link_maker
from treatments import selectors
from treatments.models import Consultation, FacialArea, TreatmentPlan
from treatments.selectors import open_follow_up_tasks

register = template.Library()


PLAN_STATUS_LABELS = dict(TreatmentPlan.Status.choices)
CONSULTATION_STATUS_LABELS = dict(Consultation.Status.choices)


def _full_name(row: dict) -> str:
    # As ``user.get_full_name|default:user.username`` (no user: "").
    if row["username"] is None:
        return ""
    return f"{row['first_name']} {row['last_name']}".strip() or row["username"]


@register.inclusion_tag("treatments/_panel.html", takes_context=True)
def treatment_panel(context, patient):
    """The treatments section of the patient page. Users without clinical permission get
    nothing, and no query is made for them. The patient page's view records the read in
    the audit trail (with the rest of the page); a template tag never writes.

    Its rows are read in written-out statements (selectors.patient_treatment_panel) and given
    to the template with their links and dates ready (one URL reversal a kind of link)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    # Recalled batches the patient received are flagged to whoever traces batches (doctors, managers).
    show_recalls = user is not None and user.has_perm(TRACE_BATCH)
    clinical = user is not None and user.has_perm(VIEW_CLINICAL)
    if not show_recalls and not clinical:
        return {"show": False, "recalls": [], "patient": patient}
    panel = selectors.patient_treatment_panel(patient, recalls=show_recalls, clinical=clinical)
    dates = Dates()
    day_month_year, day_month_year_time = dates.day_month_year, dates.day_month_year_time
    recalls = panel.recalls
    session_link = link_maker("treatments:session_detail", 2) if recalls or panel.tasks else None
    if recalls:
        batch_link = link_maker("treatments:batch_trace")
        for usage in recalls:
            usage["session_url"] = session_link(usage["session_patient_id"], usage["session_id"])
            usage["batch_url"] = batch_link(usage["batch_id"])
            usage["performed_on"] = day_month_year(usage["performed_at"])
            usage["recalled_on"] = day_month_year(usage["recalled_at"])
    if not clinical:
        return {"show": False, "recalls": recalls, "patient": patient}
    if panel.plans:
        plan_link = link_maker("treatments:plan_detail", 2)
        for plan in panel.plans:
            plan["url"] = plan_link(plan["patient_id"], plan["id"])
            plan["status_label"] = PLAN_STATUS_LABELS.get(plan["status"], plan["status"])
            plan["created_on"] = day_month_year(plan["created_at"])
            plan["maintenance_due"] = day_month_year(plan["maintenance_due_on"])
    if panel.consultations:
        consultation_link = link_maker("treatments:consultation_detail", 2)
        for consultation in panel.consultations:
            consultation["url"] = consultation_link(consultation["patient_id"], consultation["id"])
            consultation["is_signed"] = consultation["status"] == Consultation.Status.SIGNED
            status = consultation["status"]
            consultation["status_label"] = CONSULTATION_STATUS_LABELS.get(status, status)
            consultation["consulted"] = day_month_year(consultation["consulted_on"])
            consultation["doctor"] = _full_name(consultation)
    if panel.tasks:
        done_link = link_maker("treatments:follow_up_task_done")
        for task in panel.tasks:
            task["is_done"] = task["done_at"] is not None
            task["session_url"] = session_link(task["session_patient_id"], task["session_id"])
            task["answered"] = day_month_year_time(task["answered_at"])
            task["done_on"] = day_month_year(task["done_at"])
            task["done_by"] = _full_name(task) if task["is_done"] else ""
            task["done_url"] = done_link(task["id"])
    return {
        "show": True,
        "patient": patient,
        "plans": panel.plans,
        "consultations": panel.consultations,
        "can_record": user.has_perm(RECORD_CLINICAL),
        # Concerns raised after a session: the open ones, then the last few done.
        "tasks": panel.tasks,
        "can_close_tasks": user.has_perm(CLOSE_FOLLOW_UP_TASK),
        "next": request.get_full_path(),
        "recalls": recalls,
    }


HOME_TASKS_LIMIT = 20


@register.inclusion_tag("treatments/_home_tasks.html", takes_context=True)
def home_follow_up_tasks(context):
    """The doctor's home page: concerns patients raised after their sessions, not yet done
    (the doctor's own first). Names and dates only; the patient's page shows the words."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        return {"show": False}
    if not user.has_perm(CLOSE_FOLLOW_UP_TASK):
        return {"show": False, "show_recalls": user.has_perm(VIEW_RECALLS)}
    mine = list(open_follow_up_tasks(doctor=user)[:HOME_TASKS_LIMIT])
    others = open_follow_up_tasks().exclude(doctor=user).count()
    return {"show": True, "tasks": mine, "others": others, "show_recalls": user.has_perm(VIEW_RECALLS)}


@register.inclusion_tag("treatments/_home_stock_alerts.html", takes_context=True)
def home_stock_alerts(context):
    """Low stock and soon-expiring batches on the home page of those who read the formulary."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm(VIEW_PRODUCT):
        return {"alerts": None}
    return {"alerts": selectors.stock_alerts()}


# Face diagram: each region is an SVG shape; the patient's right is on the viewer's left.
FACE_REGIONS: list[tuple[str, str, dict]] = [
    (FacialArea.FOREHEAD, "ellipse", {"cx": 100, "cy": 52, "rx": 48, "ry": 18}),
    (FacialArea.GLABELLA, "ellipse", {"cx": 100, "cy": 80, "rx": 10, "ry": 8}),
    (FacialArea.PERIORBITAL_RIGHT, "ellipse", {"cx": 70, "cy": 98, "rx": 18, "ry": 10}),
    (FacialArea.PERIORBITAL_LEFT, "ellipse", {"cx": 130, "cy": 98, "rx": 18, "ry": 10}),
    (FacialArea.NOSE, "ellipse", {"cx": 100, "cy": 118, "rx": 9, "ry": 18}),
    (FacialArea.CHEEK_RIGHT, "ellipse", {"cx": 62, "cy": 132, "rx": 17, "ry": 19}),
    (FacialArea.CHEEK_LEFT, "ellipse", {"cx": 138, "cy": 132, "rx": 17, "ry": 19}),
    (FacialArea.NASOLABIAL_RIGHT, "ellipse", {"cx": 83, "cy": 150, "rx": 6, "ry": 13}),
    (FacialArea.NASOLABIAL_LEFT, "ellipse", {"cx": 117, "cy": 150, "rx": 6, "ry": 13}),
    (FacialArea.PERIORAL, "ellipse", {"cx": 100, "cy": 168, "rx": 20, "ry": 9}),
    (FacialArea.CHIN, "ellipse", {"cx": 100, "cy": 192, "rx": 17, "ry": 9}),
    (FacialArea.JAWLINE, "path", {"d": "M44 150 Q56 200 100 212 Q144 200 156 150", "fill": "none", "stroke-width": 9}),
    (FacialArea.NECK, "rect", {"x": 76, "y": 222, "width": 48, "height": 26, "rx": 4}),
    (FacialArea.DECOLLETAGE, "rect", {"x": 36, "y": 254, "width": 128, "height": 16, "rx": 6}),
]


AREA_VALUES = frozenset(FacialArea.values)


def _known_areas(selected) -> set[str]:
    """The facial areas among ``selected``: a bound form redisplays what was posted, which may
    be anything (empty, unknown, huge); only the known areas are drawn and named."""
    if isinstance(selected, str):
        selected = [selected]
    try:
        values = list(selected or ())
    except TypeError:
        return set()
    return {value for value in values if isinstance(value, str) and value in AREA_VALUES}


def _face_shape(area, element: str, attributes: dict, *, selected: bool) -> str:
    return format_html(
        '<{} class="{}" data-area="{}" {}><title>{}</title></{}>',
        element,
        "face-area" + (" is-selected" if selected else ""),
        area.value,
        format_html_join(" ", '{}="{}"', attributes.items()),
        area.label,
        element,
    )


# Each region's markup, drawn once: (the area, its shape unselected, its shape selected).
FACE_SHAPES = [
    (
        area,
        _face_shape(area, element, attributes, selected=False),
        _face_shape(area, element, attributes, selected=True),
    )
    for area, element, attributes in FACE_REGIONS
]


@register.simple_tag
def face_diagram(selected=(), field_name: str = ""):
    """An SVG face with the chosen areas filled. With ``field_name`` it is interactive: a
    click toggles the checkbox of that area (static/js/treatments_face.js); the checkboxes
    stay the accessible way to choose."""
    selected = _known_areas(selected)
    shapes = [chosen if area in selected else plain for area, plain, chosen in FACE_SHAPES]
    body = mark_safe("".join(shapes))  # noqa: S308 -- each shape was built by format_html
    interactive = format_html(' data-face-diagram="{}" hidden', field_name) if field_name else ""
    label = "Face diagram of the chosen areas: " + (
        ", ".join(FacialArea(value).label for value in sorted(selected)) or "none"
    )
    return format_html(
        '<svg class="face-diagram" viewBox="0 0 200 275" width="220" role="img" aria-label="{}"{}>'
        '<ellipse class="face-outline" cx="100" cy="120" rx="62" ry="96"/>{}</svg>',
        label,
        interactive,
        body,
    )


@register.filter
def get_item(form, name: str):
    """``form|get_item:"product_1"``: the bound field of a form field named at run time."""
    return form[name]


@register.filter
def get_value(mapping: dict, key):
    """``notices|get_value:patient.pk``: the value at ``key`` of a dict, or None."""
    return mapping.get(key) if mapping else None
