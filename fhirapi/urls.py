from django.urls import path

from fhirapi import api, views
from fhirapi.models import RESOURCE_TYPES

app_name = "fhirapi"

urlpatterns = [
    path("fhir/metadata", api.metadata, name="metadata"),
    path("fhir/Patient/<str:resource_id>/$everything", api.everything, name="patient_everything"),
]
for resource_type in RESOURCE_TYPES:
    urlpatterns += [
        path(
            f"fhir/{resource_type}",
            api.search,
            {"resource_type": resource_type},
            name=f"{resource_type.lower()}_search",
        ),
        path(
            f"fhir/{resource_type}/<str:resource_id>",
            api.read,
            {"resource_type": resource_type},
            name=f"{resource_type.lower()}_read",
        ),
    ]
urlpatterns += [
    # Anything else under /fhir/ is answered by the API (404 OperationOutcome), not an HTML page.
    path("fhir/<path:rest>", api.unknown, name="unknown"),
    path("api-tokens/", views.token_list, name="token_list"),
    path("api-tokens/new/", views.token_create, name="token_create"),
    path("api-tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("patients/<int:pk>/export/", views.patient_export, name="patient_export"),
]
