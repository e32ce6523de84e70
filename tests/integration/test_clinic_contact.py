"""The clinic on the handout: settings first, else the launch encounter's serviceProvider, else
a PractitionerRole user's organization; what the server sends is checked, errors leave it out."""

from fhir_rehab.services.clinic import ClinicContact, clinic_contact


def organization(fhir, name="Riverside Physiotherapy", phone="020 7946 0000"):
    body = {
        "resourceType": "Organization",
        "name": name,
        "telecom": [
            {"system": "email", "value": "front-desk@riverside.example"},
            {"system": "phone", "value": phone, "use": "work"},
        ],
    }
    return fhir.create(body).body["id"]


def test_settings_come_first(fhir):
    settings = {"CLINIC_NAME": "Our clinic", "CLINIC_PHONE": "01632 960000"}
    found = clinic_contact(fhir, settings=settings, encounter_id="nope", fhir_user=None)
    assert found == ClinicContact("Our clinic", "01632 960000")


def test_the_encounters_service_provider(fhir, seeded):
    org = organization(fhir)
    patient = seeded["eligible-icd10"].patient_id
    visit = fhir.create(
        {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{patient}"},
            "serviceProvider": {"reference": f"Organization/{org}"},
        }
    ).body["id"]
    found = clinic_contact(fhir, settings={}, encounter_id=visit, fhir_user="Practitioner/x")
    assert found == ClinicContact("Riverside Physiotherapy", "020 7946 0000")


def test_a_practitioner_roles_organization_without_an_encounter(fhir):
    org = organization(fhir, name="Hillside Spinal Service", phone="020 7946 0999")
    role = fhir.create(
        {
            "resourceType": "PractitionerRole",
            "active": True,
            "organization": {"reference": f"Organization/{org}"},
        }
    ).body["id"]
    found = clinic_contact(fhir, settings={}, encounter_id=None, fhir_user=f"PractitionerRole/{role}")
    assert found == ClinicContact("Hillside Spinal Service", "020 7946 0999")


def test_nothing_readable_leaves_the_contact_out(fhir):
    assert clinic_contact(fhir, settings={}, encounter_id="missing-visit", fhir_user=None) is None
    assert clinic_contact(fhir, settings={}, encounter_id=None, fhir_user="Practitioner/1") is None
    assert (
        clinic_contact(fhir, settings={}, encounter_id="../Patient/1", fhir_user="PractitionerRole/a b")
        is None
    )
    long_name = organization(fhir, name="x" * 500)
    role = fhir.create(
        {"resourceType": "PractitionerRole", "organization": {"reference": f"Organization/{long_name}"}}
    ).body["id"]
    assert clinic_contact(fhir, settings={}, encounter_id=None, fhir_user=f"PractitionerRole/{role}") is None
