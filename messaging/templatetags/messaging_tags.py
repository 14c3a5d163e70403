from django import template

from messaging.selectors import messages_for_patient

register = template.Library()


@register.inclusion_tag("messaging/_patient_messages.html", takes_context=True)
def patient_messages(context, patient, limit: int = 20):
    return {"rows": list(messages_for_patient(patient)[:limit]), "perms": context.get("perms")}
