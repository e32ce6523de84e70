"""Web layer: Flask blueprints, one per audience (clinician, coordinator)."""
