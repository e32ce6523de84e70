"""FHIR resource builders and parsers: domain objects to R4 resources (fhir.resources.R4B) and back."""
