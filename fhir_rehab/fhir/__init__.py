"""The FHIR edge: the only code that speaks HTTP to a FHIR server."""
