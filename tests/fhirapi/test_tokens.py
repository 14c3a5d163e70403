"""API token pages: managers create (the secret shown once, only its hash kept), list and revoke."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fhirapi.models import ALL_SCOPE, ApiToken, hash_secret, scope_for
from tests.fhirapi.conftest import fhir_get

pytestmark = pytest.mark.django_db


def test_manager_creates_a_token_shown_once(record, manager_client, manager):
    response = manager_client.post(
        reverse("fhirapi:token_create"), {"name": "  Lab results system ", "scopes": [scope_for("Patient")]}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    assert secret.startswith("clk_")
    assert secret in response.content.decode()
    token = ApiToken.objects.get()
    assert token.name == "Lab results system"
    assert token.created_by == manager
    assert token.scopes == [scope_for("Patient")]
    assert token.token_hash == hash_secret(secret)
    assert secret not in str(ApiToken.objects.values().get())
    # The list shows the hint, never the secret.
    listing = manager_client.get(reverse("fhirapi:token_list")).content.decode()
    assert "Lab results system" in listing
    assert token.token_hint in listing
    assert secret not in listing
    # And the secret opens the API.
    manager_client.logout()
    fhir_get(manager_client, f"/fhir/Patient/{record.patient.pk}", token=secret)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "Lab", "scopes": []}, "scopes", "This field is required."),
        ({"name": "Lab", "scopes": ["user/*.write"]}, "scopes", "Select a valid choice."),
        ({"name": "   ", "scopes": [ALL_SCOPE]}, "name", "This field is required."),
        ({"name": "x" * 81, "scopes": [ALL_SCOPE]}, "name", "at most 80 characters"),
    ],
)
def test_token_form_names_the_problem(manager_client, data, field, message):
    response = manager_client.post(reverse("fhirapi:token_create"), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not ApiToken.objects.exists()


def test_manager_revokes_a_token(record, manager_client, manager, issue_token):
    issued = issue_token([ALL_SCOPE])
    response = manager_client.post(reverse("fhirapi:token_revoke", args=[issued.token.pk]))
    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.is_revoked
    assert issued.token.revoked_by == manager
    first_revocation = issued.token.revoked_at
    listing = manager_client.get(reverse("fhirapi:token_list")).content.decode()
    assert "Revoked" in listing
    # Revoking again keeps the first revocation.
    manager_client.post(reverse("fhirapi:token_revoke", args=[issued.token.pk]))
    issued.token.refresh_from_db()
    assert issued.token.revoked_at == first_revocation
    manager_client.logout()
    fhir_get(manager_client, f"/fhir/Patient/{record.patient.pk}", token=issued.secret, status=401)


def test_revoking_an_unknown_token_is_404(manager_client):
    assert manager_client.post(reverse("fhirapi:token_revoke", args=[999999])).status_code == 404


def test_doctors_and_receptionists_cannot_manage_tokens(doctor_client, issue_token):
    issued = issue_token([ALL_SCOPE])
    assert doctor_client.get(reverse("fhirapi:token_list")).status_code == 403
    assert doctor_client.post(reverse("fhirapi:token_revoke", args=[issued.token.pk])).status_code == 403
    issued.token.refresh_from_db()
    assert not issued.token.is_revoked


def test_menu_links_to_tokens_for_managers_only(client, manager, doctor):
    client.force_login(manager)
    assert "API tokens" in client.get(reverse("home")).content.decode()
    client.force_login(doctor)
    assert "API tokens" not in client.get(reverse("home")).content.decode()
