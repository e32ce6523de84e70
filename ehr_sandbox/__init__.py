"""The embedded sandbox: a local FHIR server, a sandbox EHR and its SMART authorization server."""
