"""The CLI's FHIR client: remembers every resource it read, so `--json` can name them."""

from __future__ import annotations

from typing import Any

from fhir_rehab.fhir.client import FhirClient, FhirResponse
from fhir_rehab.fhir.compartment import iter_resources


class RecordingClient(FhirClient):
    """A FhirClient that remembers every resource it read, so `--json` can name them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_refs: list[str] = []

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> FhirResponse:
        response = super().request(method, path_or_url, **kwargs)
        reading = method.upper() == "GET" or (kwargs.get("json") or {}).get("type") == "batch"
        if reading and isinstance(response.body, dict):
            for resource in iter_resources(response.body):
                ref = f"{resource.get('resourceType')}/{resource.get('id')}"
                if (
                    resource.get("resourceType") not in {"Bundle", "OperationOutcome"}
                    and resource.get("id")
                    and ref not in self.read_refs
                ):
                    self.read_refs.append(ref)
        return response
