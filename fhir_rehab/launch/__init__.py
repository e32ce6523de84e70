"""SMART App Launch 2.x client: EHR and standalone launch, token handling, launch context."""

from fhir_rehab.launch.context import (
    LaunchContext,
    current_launch,
    fhir_client_for_launch,
    require_launch,
)

__all__ = ["LaunchContext", "current_launch", "fhir_client_for_launch", "require_launch"]
