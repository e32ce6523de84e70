"""The sandbox EHR pages: the patient list and the launch redirect."""

from __future__ import annotations

import requests

from ehr_sandbox.faults import Fault
from tests.sandbox.conftest import Seeded, Smart, query_of


def test_ehr_page_lists_patients_with_escaped_names_and_launch_forms(smart: Smart, seeded: Seeded) -> None:
    page = requests.get(smart.stack.ehr_url, timeout=10)
    assert page.status_code == 200
    assert "Ann &lt;b&gt;Alpha&lt;/b&gt;" in page.text and "<b>Alpha</b>" not in page.text
    assert f'name="patient" value="{seeded.patient_a}"' in page.text
    assert f'name="patient" value="{seeded.patient_b}"' in page.text
    assert '<option value="none">' in page.text
    for fault in Fault:
        assert f'<option value="{fault.value}">' in page.text
    assert "<script" not in page.text and "https://" not in page.text.split("<body>")[0]


def test_ehr_page_offers_a_standalone_coordinator_launch_with_only_iss(smart: Smart) -> None:
    page = requests.get(smart.stack.ehr_url, timeout=10).text
    iss = requests.utils.quote(smart.stack.fhir_base, safe="")
    assert f'href="{smart.stack.launch_url}?iss={iss}&amp;role=coordinator"' in page


def test_user_parameter_picks_who_signs_in(smart: Smart) -> None:
    browser = requests.Session()
    assert "signed in as Sandbox Practitioner" in browser.get(smart.stack.ehr_url, timeout=10).text
    page = browser.get(smart.stack.ehr_url, params={"user": "coordinator-robin"}, timeout=10)
    assert "signed in as Robin Reyes" in page.text
    assert "signed in as Robin Reyes" in browser.get(smart.stack.ehr_url, timeout=10).text
    unknown = browser.get(smart.stack.ehr_url, params={"user": "mallory"}, timeout=10)
    assert "signed in as Robin Reyes" in unknown.text  # unknown keys change nothing
    robin = smart.stack.runtime.current_user("coordinator-robin")
    assert robin.name == "Robin Reyes" and robin.fhir_user != smart.stack.runtime.current_user().fhir_user


def test_launch_redirects_to_the_app_with_iss_and_an_opaque_launch(smart: Smart, seeded: Seeded) -> None:
    response = requests.get(
        f"{smart.stack.sandbox_url}/ehr/launch",
        allow_redirects=False,
        params={"patient": seeded.patient_a},
        timeout=10,
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(smart.stack.launch_url + "?")
    params = query_of(location)
    assert set(params) == {"iss", "launch"}
    assert params["iss"] == smart.stack.fhir_base
    assert seeded.patient_a not in params["launch"]
    assert smart.stack.runtime.store.get_launch(params["launch"]).context.patient_id == seeded.patient_a


def test_launch_of_an_unknown_patient_is_404(smart: Smart) -> None:
    response = requests.get(
        f"{smart.stack.sandbox_url}/ehr/launch",
        allow_redirects=False,
        params={"patient": "no-such-patient"},
        timeout=10,
    )
    assert response.status_code == 404 and "Location" not in response.headers


def test_launch_with_an_unknown_fault_is_400(smart: Smart, seeded: Seeded) -> None:
    response = requests.get(
        f"{smart.stack.sandbox_url}/ehr/launch",
        allow_redirects=False,
        params={"patient": seeded.patient_a, "fault": "bogus"},
        timeout=10,
    )
    assert response.status_code == 400
