"""Services: the clinical operations (screen, start, show, pain, progress) over a FHIR client."""
