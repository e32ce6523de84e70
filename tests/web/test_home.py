"""`/` is a landing page that says how to launch the app."""


def test_landing_page_says_how_to_launch(client):
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "How to open it" in text and "/launch" in text and "FHIR_REHAB_ISS_ALLOWLIST" in text
