"""The printed handout filed in the EHR: a DocumentReference with the PDF attached."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.resources.observations import submission_identifier
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.wire import Resource, concept, fhir_instant, ref


def build_handout_document(
    pdf: bytes,
    *,
    patient_id: str,
    care_plan_id: str | None,
    stage_title: str,
    actor: Actor,
    now: datetime,
    key: str,
) -> Resource:
    """status current, the app's handout type, the PDF inline (base64) with its size and SHA-1
    hash (R4 Attachment.hash is SHA-1), so it appears in the patient's documents."""
    document: Resource = {
        "resourceType": "DocumentReference",
        "identifier": submission_identifier(key),
        "status": "current",
        "type": concept(c.APP_HANDOUT),
        "category": [concept(c.APP_HANDOUT)],
        "subject": ref("Patient", patient_id),
        "date": fhir_instant(now),
        "author": [actor.as_reference()],
        "description": f"Home exercise handout: {stage_title}",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "language": "en",
                    "data": base64.b64encode(pdf).decode("ascii"),
                    "size": len(pdf),
                    "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii"),  # noqa: S324
                    "title": f"Home exercises - {stage_title}.pdf",
                    "creation": fhir_instant(now),
                }
            }
        ],
    }
    if care_plan_id:
        document["context"] = {"related": [ref("CarePlan", care_plan_id)]}
    return document
