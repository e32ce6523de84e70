"""Baseline for `fhir-rehab start`: the same program written by a plain fhirclient script, one
request per resource (fhirclient==4.4.0, installed for the benchmark only).

    python benchmarks/fhirclient_start.py --fhir-base URL --patient ID --program program.json

It reads what `start` reads (the patient, Conditions, the latest red-flag screen, existing
CarePlans), then creates the Goals, the CarePlan (pointing at the Goals), the exercise
ServiceRequests (basedOn the CarePlan), the stage Tasks (basedOn the CarePlan, inputs the
ServiceRequests), updates the CarePlan with its activity references, and writes the
Provenance: the same linked resources `start` writes in one transaction, each create
conditional (If-None-Exist, the same criteria) so a retry writes nothing twice, as `start`'s
are. `program.json` holds those resources as the app builds them (urn:uuid references), so
both write the same content. Prints one JSON line: the number of HTTP requests.
"""

from __future__ import annotations

import argparse
import json
import sys

from fhirclient import client
from fhirclient.models import careplan, goal, provenance, servicerequest, task

MODELS = {
    "Goal": goal.Goal,
    "CarePlan": careplan.CarePlan,
    "ServiceRequest": servicerequest.ServiceRequest,
    "Task": task.Task,
    "Provenance": provenance.Provenance,
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fhir-base", required=True)
    parser.add_argument("--patient", required=True)
    parser.add_argument("--program", required=True)
    args = parser.parse_args()
    smart = client.FHIRClient(settings={"app_id": "bench", "api_base": args.fhir_base})
    server = smart.server
    requests = 0

    def get(path: str) -> dict:
        nonlocal requests
        requests += 1
        return server.request_json(path)

    get(f"Patient/{args.patient}")
    get(f"Condition?patient={args.patient}")
    get(f"Observation?patient={args.patient}&_sort=-date&_count=20")
    get(f"CarePlan?patient={args.patient}")
    entries = json.load(open(args.program))["entry"]  # noqa: SIM115 - read once
    assigned: dict[str, str] = {}

    def resolve(value: object) -> object:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str) and value in assigned:
            return assigned[value]
        return value

    def create(entry: dict, drop: tuple[str, ...] = ()) -> dict:
        nonlocal requests
        body = {k: v for k, v in resolve(entry["resource"]).items() if k not in drop}
        model = MODELS[body["resourceType"]](body)  # fhirclient validates the model
        requests += 1
        # fhirclient's create() sends no If-None-Exist: the same POST on its session, with it.
        headers = {
            "Content-Type": "application/fhir+json",
            "Accept": "application/fhir+json",
            "Prefer": "return=representation",
        }
        if entry["request"].get("ifNoneExist"):
            headers["If-None-Exist"] = entry["request"]["ifNoneExist"]
        answer = server.session.post(
            f"{server.base_uri.rstrip('/')}/{body['resourceType']}", json=model.as_json(), headers=headers
        )
        answer.raise_for_status()
        created = answer.json()
        assigned[entry["fullUrl"]] = f"{body['resourceType']}/{created['id']}"
        return created

    by_type: dict[str, list[dict]] = {}
    for entry in entries:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry)
    for entry in by_type["Goal"]:
        create(entry)
    (plan_entry,) = by_type["CarePlan"]
    plan = create(plan_entry, drop=("activity",))  # the Tasks do not exist yet
    for entry in by_type["ServiceRequest"]:
        create(entry)
    for entry in by_type["Task"]:
        create(entry)
    plan["activity"] = resolve(plan_entry["resource"]["activity"])
    requests += 1
    server.put_json(f"CarePlan/{plan['id']}", careplan.CarePlan(plan).as_json())
    for entry in by_type["Provenance"]:
        create(entry)
    print(json.dumps({"requests": requests}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
