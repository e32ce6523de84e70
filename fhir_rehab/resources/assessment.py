"""The baseline assessment on the wire: member Observations grouped by one panel, and back.

Codes: the app's own code system for each finding (no verified standard code exists for them
as recorded here); the Oswestry score is LOINC 97909-6 in a 97908-8 panel with the section
scores as its members, so the program's Oswestry baseline is the assessment's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir_rehab import codes as c
from fhir_rehab.program.assessment import Assessment, SideFindings, StartBack
from fhir_rehab.program.model import Direction, Precaution
from fhir_rehab.resources.observations import build_oswestry_score, submission_identifier
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.wire import Resource, codes_of, concept, fhir_instant, parse_instant, ref, ref_id

PREFERENCE_CODES = {
    Direction.FLEXION: c.APP_PREFERENCE_FLEXION,
    Direction.EXTENSION: c.APP_PREFERENCE_EXTENSION,
    Direction.NEUTRAL: c.APP_PREFERENCE_NONE,
}
STARTBACK_CODES = {
    StartBack.LOW: c.APP_STARTBACK_LOW,
    StartBack.MEDIUM: c.APP_STARTBACK_MEDIUM,
    StartBack.HIGH: c.APP_STARTBACK_HIGH,
}
PRECAUTION_CODES = {
    Precaution.OSTEOPOROSIS: c.APP_PRECAUTION_OSTEOPOROSIS,
    Precaution.PREGNANCY: c.APP_PRECAUTION_PREGNANCY,
    Precaution.RECENT_SURGERY: c.APP_PRECAUTION_RECENT_SURGERY,
    Precaution.STENOSIS: c.APP_PRECAUTION_STENOSIS,
    Precaution.ANTICOAGULANTS: c.APP_PRECAUTION_ANTICOAGULANTS,
}
REFLEX_CODES = {"normal": c.APP_REFLEX_NORMAL, "reduced": c.APP_REFLEX_REDUCED, "absent": c.APP_REFLEX_ABSENT}
SIDE_CODES = {"left": (c.APP_SLR_LEFT, c.APP_NEURO_LEFT), "right": (c.APP_SLR_RIGHT, c.APP_NEURO_RIGHT)}
_NEURO_BOOLS = (
    ("weak_l4", c.APP_WEAK_L4),
    ("weak_l5", c.APP_WEAK_L5),
    ("weak_s1", c.APP_WEAK_S1),
    ("sensory_change", c.APP_SENSORY_CHANGE),
)
_REFLEXES = (("knee_reflex", c.APP_KNEE_REFLEX), ("ankle_reflex", c.APP_ANKLE_REFLEX))


@dataclass
class _Builder:
    patient_id: str
    actor: Actor
    now: datetime
    key: str

    def observation(self, code: c.Code, part: str, category: c.Code = c.CATEGORY_EXAM) -> Resource:
        obs: Resource = {
            "resourceType": "Observation",
            "identifier": submission_identifier(f"{self.key}.{part}"),
            "status": "final",
            "category": [concept(category)],
            "code": concept(code),
            "subject": ref("Patient", self.patient_id),
            "effectiveDateTime": fhir_instant(self.now),
            "issued": fhir_instant(self.now),
        }
        if self.actor.reference:
            obs["performer"] = [self.actor.as_reference()]
        return obs


def _score(b: _Builder, code: c.Code, part: str, value: int) -> Resource:
    obs = b.observation(code, part, c.CATEGORY_SURVEY)
    obs["valueInteger"] = value
    return obs


def _side(b: _Builder, side: str, f: SideFindings) -> list[Resource]:
    slr_code, neuro_code = SIDE_CODES[side]
    out = []
    if f.slr_angle is not None or f.slr_leg_pain is not None:
        slr = b.observation(slr_code, f"slr-{side}")
        slr["component"] = []
        if f.slr_angle is not None:
            slr["component"].append(
                {
                    "code": concept(c.APP_SLR_ANGLE),
                    "valueQuantity": {
                        "value": f.slr_angle,
                        "unit": "degrees",
                        "system": c.UCUM,
                        "code": "deg",
                    },
                }
            )
        if f.slr_leg_pain is not None:
            slr["component"].append({"code": concept(c.APP_SLR_LEG_PAIN), "valueBoolean": f.slr_leg_pain})
        out.append(slr)
    if f.neuro_examined:
        neuro = b.observation(neuro_code, f"neuro-{side}")
        neuro["component"] = [
            {"code": concept(code), "valueBoolean": getattr(f, name)}
            for name, code in _NEURO_BOOLS
            if getattr(f, name) is not None
        ] + [
            {"code": concept(code), "valueCodeableConcept": concept(REFLEX_CODES[getattr(f, name)])}
            for name, code in _REFLEXES
            if getattr(f, name) is not None
        ]
        out.append(neuro)
    return out


def build_assessment(
    assessment: Assessment, patient_id: str, actor: Actor, now: datetime, key: str
) -> tuple[list[Resource], list[Resource]]:
    """(members, odi_members): the panel's members, and the Oswestry panel's section members.

    The caller writes them in one transaction: sections, then the Oswestry panel over them,
    then the assessment panel (`build_assessment_panel`) over every member.
    """
    b = _Builder(patient_id, actor, now, key)
    members: list[Resource] = []
    if assessment.leg_pain is not None:
        members.append(_score(b, c.APP_LEG_PAIN, "leg-pain", assessment.leg_pain))
    if assessment.back_pain is not None:
        members.append(_score(b, c.APP_BACK_PAIN, "back-pain", assessment.back_pain))
    sections = [
        _score(b, code, f"odi-{i + 1}", score)
        for i, (code, score) in enumerate(zip(c.ODI_SECTIONS, assessment.odi_sections, strict=True))
        if score is not None
    ]
    if assessment.odi is not None:
        members.append(build_oswestry_score(assessment.odi, patient_id, actor, now, f"{key}.odi"))
    for side in ("left", "right"):
        members += _side(b, side, assessment.side(side))
    if assessment.preference is not None:
        pref = b.observation(c.APP_DIRECTIONAL_PREFERENCE, "preference")
        pref["valueCodeableConcept"] = concept(PREFERENCE_CODES[assessment.preference])
        members.append(pref)
    if assessment.startback is not None:
        risk = b.observation(c.APP_STARTBACK, "startback", c.CATEGORY_SURVEY)
        risk["valueCodeableConcept"] = concept(STARTBACK_CODES[assessment.startback])
        members.append(risk)
    precautions = b.observation(c.APP_PRECAUTIONS, "precautions")
    # Every precaution is recorded, present or not, so "not asked" never reads as "absent".
    precautions["component"] = [
        {"code": concept(code), "valueBoolean": p in assessment.precautions}
        for p, code in PRECAUTION_CODES.items()
    ]
    members.append(precautions)
    return members, sections


def build_odi_panel(
    section_refs: list[str], score_ref: str | None, patient_id: str, actor: Actor, now: datetime, key: str
) -> Resource:
    b = _Builder(patient_id, actor, now, key)
    panel = b.observation(c.LOINC_ODI_PANEL, "odi-panel", c.CATEGORY_SURVEY)
    panel["hasMember"] = [{"reference": r} for r in [*section_refs, *([score_ref] if score_ref else [])]]
    return panel


def build_assessment_panel(
    member_refs: list[str], patient_id: str, actor: Actor, now: datetime, key: str
) -> Resource:
    b = _Builder(patient_id, actor, now, key)
    panel = b.observation(c.APP_ASSESSMENT_PANEL, "panel")
    panel["identifier"] = submission_identifier(key)
    panel["hasMember"] = [{"reference": r} for r in member_refs]
    return panel


# -- reading back --------------------------------------------------------------------------------
def _has(obs: Resource, code: c.Code) -> bool:
    return (code.system, code.code) in codes_of(obs.get("code"))


def _component(obs: Resource, code: c.Code) -> dict[str, Any] | None:
    for comp in obs.get("component") or []:
        if (code.system, code.code) in codes_of(comp.get("code")):
            return dict(comp)
    return None


def _value_code(concept_value: dict[str, Any] | None, table: dict[Any, c.Code]) -> Any:
    found = codes_of(concept_value)
    for key, code in table.items():
        if (code.system, code.code) in found:
            return key
    return None


def _side_findings(members: list[Resource], side: str) -> SideFindings:
    slr_code, neuro_code = SIDE_CODES[side]
    values: dict[str, Any] = {}
    for obs in members:
        if _has(obs, slr_code):
            angle = _component(obs, c.APP_SLR_ANGLE)
            pain = _component(obs, c.APP_SLR_LEG_PAIN)
            if angle:
                values["slr_angle"] = int(angle["valueQuantity"]["value"])
            if pain:
                values["slr_leg_pain"] = bool(pain["valueBoolean"])
        if _has(obs, neuro_code):
            for name, code in _NEURO_BOOLS:
                comp = _component(obs, code)
                if comp is not None:
                    values[name] = bool(comp.get("valueBoolean"))
            for name, code in _REFLEXES:
                comp = _component(obs, code)
                if comp is not None:
                    values[name] = _value_code(comp.get("valueCodeableConcept"), REFLEX_CODES)
    return SideFindings(**values)


def parse_assessments(resources: list[Resource]) -> tuple[Assessment, ...]:
    """Every assessment panel with its members, oldest first (unreadable panels are skipped)."""
    observations = [r for r in resources if r.get("resourceType") == "Observation"]
    by_id = {o.get("id"): o for o in observations}
    out = []
    for panel in observations:
        if not _has(panel, c.APP_ASSESSMENT_PANEL) or panel.get("status") == "entered-in-error":
            continue
        members = [
            by_id[i] for i in (ref_id(m, "Observation") for m in panel.get("hasMember") or []) if i in by_id
        ]
        values: dict[str, Any] = {}
        for obs in members:
            if _has(obs, c.APP_LEG_PAIN):
                values["leg_pain"] = obs.get("valueInteger")
            elif _has(obs, c.APP_BACK_PAIN):
                values["back_pain"] = obs.get("valueInteger")
            elif _has(obs, c.LOINC_ODI_SCORE):
                values["odi_total"] = int((obs.get("valueQuantity") or {}).get("value", 0))
            elif _has(obs, c.APP_DIRECTIONAL_PREFERENCE):
                values["preference"] = _value_code(obs.get("valueCodeableConcept"), PREFERENCE_CODES)
            elif _has(obs, c.APP_STARTBACK):
                values["startback"] = _value_code(obs.get("valueCodeableConcept"), STARTBACK_CODES)
            elif _has(obs, c.APP_PRECAUTIONS):
                values["precautions"] = frozenset(
                    p
                    for p, code in PRECAUTION_CODES.items()
                    if (_component(obs, code) or {}).get("valueBoolean") is True
                )
        try:
            out.append(
                Assessment(
                    **values,
                    left=_side_findings(members, "left"),
                    right=_side_findings(members, "right"),
                    when=parse_instant(panel.get("effectiveDateTime")),
                    panel_id=panel.get("id", ""),
                )
            )
        except ValueError:
            continue
    return tuple(sorted(out, key=lambda a: a.when.isoformat() if a.when else ""))
