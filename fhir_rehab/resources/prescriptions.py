"""Each prescribed exercise as a FHIR ServiceRequest, as the HL7 Physical Activity IG models
exercise prescriptions (intent order, SNOMED CT 229065009 Exercise therapy, basedOn the
CarePlan, the patient as performer), and back.

A reader that knows nothing of the app sees everything: the exercise's name in `code.text`, the
schedule in `occurrenceTiming` (its words in `code.text`), the words the patient reads in
`patientInstruction`; confirmed conflicts are notes. `instantiatesCanonical` points to the
library's ActivityDefinition; sets, repetitions, hold, side and the note sit in the dose
extension so the app rebuilds the prescription exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.program.model import Program
from fhir_rehab.program.tailoring import Prescribed
from fhir_rehab.resources.definitions import exercise_canonical, exercise_definition_url
from fhir_rehab.resources.dose import build_dose_extension, build_timing, parse_dose
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.wire import Resource, concept, fhir_instant, ref, version_of

CONFIRMED_PREFIX = "Clinician confirmed despite: "


def prescription_key(episode: str, stage_number: int, exercise_key: str, suffix: str = "") -> str:
    """The ServiceRequest's business identifier: unique per episode, stage and exercise."""
    key = f"{episode}.stage-{stage_number}.{exercise_key}"
    return f"{key}.{suffix}" if suffix else key


def _extension(item: Prescribed) -> Resource:
    ext = build_dose_extension(item.dosage, item.side)
    if item.note:
        ext["extension"].append({"url": "note", "valueString": item.note})
    return ext


def build_prescription(
    program: Program,
    item: Prescribed,
    *,
    key: str,
    patient_id: str,
    care_plan_ref: str,
    condition_id: str | None,
    actor: Actor,
    now: datetime,
    status: str,
) -> Resource:
    """One exercise as an order for the patient to carry out."""
    exercise = item.exercise
    request: Resource = {
        "resourceType": "ServiceRequest",
        "extension": [_extension(item)],
        "identifier": [{"system": c.EXERCISE_IDENTIFIER, "value": key}],
        "instantiatesCanonical": [exercise_canonical(program, exercise)],
        "basedOn": [{"reference": care_plan_ref}],
        "status": status,
        "intent": "order",
        "category": [concept(c.PA_CATEGORY)],
        "priority": "routine",
        "code": concept(c.SCT_EXERCISE_THERAPY, exercise.name),
        "subject": ref("Patient", patient_id),
        "occurrenceTiming": build_timing(item.dosage),
        "authoredOn": fhir_instant(now),
        "requester": actor.as_reference(),
        "performer": [ref("Patient", patient_id)],
        "patientInstruction": item.patient_instruction(),
    }
    if condition_id:
        request["reasonReference"] = [ref("Condition", condition_id)]
    notes = [{"time": fhir_instant(now), "text": CONFIRMED_PREFIX + w} for w in item.confirmed]
    if notes:
        request["note"] = notes
    return request


def revise_prescription(
    program: Program, current: Resource, item: Prescribed, actor: Actor, now: datetime
) -> Resource:
    """A copy of the ServiceRequest with this exercise, dose, side, note and confirmations."""
    out = copy.deepcopy(current)
    fresh = build_prescription(
        program,
        item,
        key="",
        patient_id="",
        care_plan_ref="",
        condition_id=None,
        actor=actor,
        now=now,
        status=current["status"],
    )
    for name in ("extension", "instantiatesCanonical", "code", "occurrenceTiming", "patientInstruction"):
        out[name] = fresh[name]
    kept = [n for n in out.get("note") or [] if not str(n.get("text", "")).startswith(CONFIRMED_PREFIX)]
    old = {str(n.get("text", ""))[len(CONFIRMED_PREFIX) :]: n for n in out.get("note") or []}
    confirmed = [
        old.get(w) or {"time": fhir_instant(now), "text": CONFIRMED_PREFIX + w} for w in item.confirmed
    ]
    if kept or confirmed:
        out["note"] = kept + confirmed
    else:
        out.pop("note", None)
    return out


def set_prescription_status(request: Resource, status: str) -> Resource:
    out = copy.deepcopy(request)
    out["status"] = status
    return out


def parse_prescription(program: Program, request: Resource) -> Prescribed | None:
    """The app's view of one of its ServiceRequests (None if it is not one of the library's)."""
    urls = {exercise_definition_url(e): e for e in program.all_exercises()}
    exercise = next(
        (
            urls[u.split("|")[0]]
            for u in request.get("instantiatesCanonical") or []
            if u.split("|")[0] in urls
        ),
        None,
    )
    if exercise is None:
        return None
    try:
        dosage, side = parse_dose(request.get("occurrenceTiming"), request.get("extension"))
    except (ValueError, TypeError, KeyError):
        dosage, side = exercise.dosage, None
    note = ""
    for ext in request.get("extension") or []:
        for part in ext.get("extension") or [] if ext.get("url") == c.EXERCISE_DOSE_EXTENSION else []:
            if part.get("url") == "note":
                note = str(part.get("valueString", ""))
    confirmed = tuple(
        str(n["text"])[len(CONFIRMED_PREFIX) :]
        for n in request.get("note") or []
        if str(n.get("text", "")).startswith(CONFIRMED_PREFIX)
    )
    return Prescribed(
        exercise,
        dosage,
        side or "both",
        note[:300],
        confirmed,
        request_id=request.get("id"),
        version=version_of(request),
        status=request.get("status", ""),
    )


def task_prescription_refs(task: Resource) -> list[str]:
    """The ServiceRequests a stage Task's inputs reference, in order."""
    out = []
    for item in task.get("input") or []:
        reference = (item.get("valueReference") or {}).get("reference", "")
        if reference.startswith("ServiceRequest/"):
            out.append(reference)
    return out


def set_task_prescriptions(task: Resource, items: Iterable[tuple[str, str]]) -> Resource:
    """A copy of the stage Task whose exercise inputs reference these (name, ServiceRequest ref)."""
    out = copy.deepcopy(task)
    out["input"] = [
        {
            "type": concept(c.APP_EXERCISE_INPUT, name),
            "valueReference": {"reference": reference, "display": name},
        }
        for name, reference in items
    ]
    # lastModified is left alone: for a ready stage it says when the stage became ready.
    return out
