"""CDS Hooks 2.0 service: discovery, the patient-view service and feedback (web layer)."""
