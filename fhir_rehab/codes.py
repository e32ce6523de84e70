"""Every code, system and canonical URL the app writes, each with its source. Pure data."""

from __future__ import annotations

from dataclasses import dataclass

# -- Systems (HL7 FHIR R4 4.0.1 and HL7 terminology) ---------------------------------------
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
PLAN_DEFINITION_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
PROVENANCE_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
# US Core CarePlan.category (required: assess-plan) [US Core 6.1 StructureDefinition-us-core-careplan]
US_CORE_CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"

# -- The app's own canonical base: code systems, identifiers and definitions it owns ---------
CANONICAL_BASE = "https://fhir-rehab.org/fhir"
APP_CODES = f"{CANONICAL_BASE}/CodeSystem/sciatica-rehab"
BUSINESS_STATUS = f"{CANONICAL_BASE}/CodeSystem/stage-business-status"
EPISODE_IDENTIFIER = f"{CANONICAL_BASE}/identifier/program-episode"
TASK_IDENTIFIER = f"{CANONICAL_BASE}/identifier/task"
GOAL_IDENTIFIER = f"{CANONICAL_BASE}/identifier/goal"
SUBMISSION_IDENTIFIER = f"{CANONICAL_BASE}/identifier/submission"  # one form submission
WRITE_TAG = f"{CANONICAL_BASE}/CodeSystem/write-key"  # meta.tag: idempotency key of a write
RUN_TAG = f"{CANONICAL_BASE}/CodeSystem/run"  # meta.tag: test or seed run, for clean-up
SEED_IDENTIFIER = f"{CANONICAL_BASE}/identifier/synthetic-patient"
# The app as a SMART Backend Services client (Provenance.agent.who of a system write): its
# OAuth client_id at the EHR, as a logical Device reference (no Device resource is needed).
OAUTH_CLIENT_IDENTIFIER = f"{CANONICAL_BASE}/identifier/oauth-client"
# Red-flag screen questions: Observation.code of an answer is the QUESTION, its value yes/no,
# so a denied finding never reads as a present one (README "Red-flag screen on the wire").
RED_FLAG_QUESTION = f"{CANONICAL_BASE}/CodeSystem/red-flag-question"
RED_FLAG_QUESTIONNAIRE = f"{CANONICAL_BASE}/Questionnaire/sciatica-red-flags"
EXERCISE_CODES = f"{CANONICAL_BASE}/CodeSystem/exercise"  # the program's exercises, by key


@dataclass(frozen=True)
class Code:
    """One coding: system, code and display."""

    system: str
    code: str
    display: str

    def as_coding(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}


def snomed(code: str, display: str) -> Code:
    return Code(SNOMED, code, display)


def app_code(code: str, display: str) -> Code:
    return Code(APP_CODES, code, display)


def question_code(code: str, display: str) -> Code:
    return Code(RED_FLAG_QUESTION, code, display)


# -- SNOMED CT, IPS free set (DESIGN.md "Verified codes") -----------------------------------
SCT_SCIATICA = snomed("23056005", "Sciatica")
SCT_PRESENT = snomed("52101004", "Present")
SCT_ABSENT = snomed("2667000", "Absent")
SCT_MUSCLE_WEAKNESS_LIMB = snomed("713514005", "Muscle weakness of limb")
SCT_NUMBNESS_LOWER_LIMB = snomed("309537005", "Numbness of lower limb")
SCT_PHYSICAL_THERAPY = snomed("91251008", "Physical therapy procedure")
SCT_EXERCISE_THERAPY = snomed("229065009", "Exercise therapy")
SCT_RANGE_OF_MOTION = snomed("85680003", "Range of motion exercise")
SCT_STRENGTHENING = snomed("61502001", "Kinetic activities for strengthening")
SCT_ERGONOMIC_ADVICE = snomed("228634008", "Ergonomic advice")
SCT_BACK_PAIN_PREVENTION = snomed("228636005", "Back pain prevention education")
SCT_EDUCATION = snomed("409073007", "Education")

# Sciatica value set, SNOMED part: exact codes.
SCIATICA_SNOMED: dict[str, str] = {
    "23056005": "Sciatica",
    "128196005": "Lumbar radiculopathy",
    "2415007": "Lumbosacral radiculopathy",
    "202735001": "Lumbar disc prolapse with radiculopathy",
    "18347007": "Spinal stenosis of lumbar region",
    "129179000": "Piriformis syndrome",
    "52585001": "Sciatic neuropathy",
}
# Cauda equina syndrome: an emergency, never a reason to start exercise therapy.
CAUDA_EQUINA_SNOMED = "192970008"
CAUDA_EQUINA_ICD10CM = "G83.4"

# Exclusions by family (program.eligibility): a Condition in one of these rules the program out.
# ICD-10-CM [checked with simple-icd-10-cm 1.5.0]: matched by prefix, so every code below a
# category counts (M80 covers M80.08XA ...). Family keys name the advice the page gives.
EXCLUSION_ICD10CM_PREFIXES: dict[str, tuple[str, str]] = {
    "G83.4": ("cauda-equina", "Cauda equina syndrome"),
    "C41.2": ("spinal-malignancy", "Malignant neoplasm of vertebral column"),
    "C41.4": ("spinal-malignancy", "Malignant neoplasm of pelvic bones, sacrum and coccyx"),
    "C79.51": ("spinal-malignancy", "Secondary malignant neoplasm of bone"),
    "C79.52": ("spinal-malignancy", "Secondary malignant neoplasm of bone marrow"),
    "C90.0": ("spinal-malignancy", "Multiple myeloma"),
    "Z85": ("cancer-history", "Personal history of malignant neoplasm"),
    "M46.2": ("spinal-infection", "Osteomyelitis of vertebra"),
    "M46.3": ("spinal-infection", "Infection of intervertebral disc (pyogenic)"),
    "M46.4": ("spinal-infection", "Discitis, unspecified"),
    "M46.5": ("spinal-infection", "Other infective spondylopathies"),
    "G06.1": ("spinal-infection", "Intraspinal abscess and granuloma"),
    "S32.0": ("vertebral-fracture", "Fracture of lumbar vertebra"),
    "S22.0": ("vertebral-fracture", "Fracture of thoracic vertebra"),
    "M48.5": ("vertebral-fracture", "Collapsed vertebra, not elsewhere classified"),
    "M80": ("vertebral-fracture", "Osteoporosis with current pathological fracture"),
    "M45": ("spondyloarthritis", "Ankylosing spondylitis"),
    "M08.1": ("spondyloarthritis", "Juvenile ankylosing spondylitis"),
    "M46.8": ("spondyloarthritis", "Other specified inflammatory spondylopathies"),
    "M46.9": ("spondyloarthritis", "Unspecified inflammatory spondylopathy"),
}
# SNOMED CT: only codes found in a public source. 192970008 is in the IPS free set;
# 12454008 "Cauda equina syndrome with neurogenic bladder" (a child of 192970008) is listed in a
# public SNOMED CT code list and named in issue 7. No SNOMED CT code for the other families was
# verifiable here: Conditions coded only in SNOMED CT for them are not recognised (README).
EXCLUSION_SNOMED: dict[str, tuple[str, str]] = {
    CAUDA_EQUINA_SNOMED: ("cauda-equina", "Cauda equina syndrome"),
    "12454008": ("cauda-equina", "Cauda equina syndrome with neurogenic bladder"),
}

# Sciatica value set, ICD-10-CM part [checked with simple-icd-10-cm 1.5.0]: match a code by
# these prefixes (headers such as M54.3 are not billable; the leaves below them are).
SCIATICA_ICD10CM_PREFIXES: dict[str, str] = {
    "M54.3": "Sciatica",
    "M54.4": "Lumbago with sciatica",
    "M54.16": "Radiculopathy, lumbar region",
    "M54.17": "Radiculopathy, lumbosacral region",
    "M51.16": "Intervertebral disc disorders with radiculopathy, lumbar region",
    "M51.17": "Intervertebral disc disorders with radiculopathy, lumbosacral region",
    "M48.06": "Spinal stenosis, lumbar region",
    "M48.07": "Spinal stenosis, lumbosacral region",
    "G57.0": "Lesion of sciatic nerve",
}

# -- LOINC ----------------------------------------------------------------------------------
LOINC_PAIN_0_10 = Code(LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
# Oswestry Disability Index: single public source for these two codes (see DESIGN.md);
# the app marks observations that carry them with a note saying so.
LOINC_ODI_PANEL = Code(LOINC, "97908-8", "Oswestry Disability Index panel")
LOINC_ODI_SCORE = Code(LOINC, "97909-6", "Oswestry Disability Index score")
ODI_SOURCE_NOTE = (
    "LOINC 97908-8/97909-6 verified against a single public source only; "
    "confirm with your terminology service."
)

# Physical Activity IG 1.0.0 (HL7, STU1), ValueSet pa-observation-code-activity (expansion on
# LOINC 2.73): "Exercise activity" names one session of exercise; its value is the kind.
LOINC_EXERCISE_ACTIVITY = Code(LOINC, "73985-4", "Exercise activity")

# -- HL7 terminology --------------------------------------------------------------------------
CATEGORY_SURVEY = Code(OBSERVATION_CATEGORY, "survey", "Survey")
CATEGORY_EXAM = Code(OBSERVATION_CATEGORY, "exam", "Exam")
CATEGORY_ACTIVITY = Code(OBSERVATION_CATEGORY, "activity", "Activity")  # the PA IG's category
INTERPRETATION_POSITIVE = Code(INTERPRETATION, "POS", "Positive")
INTERPRETATION_NEGATIVE = Code(INTERPRETATION, "NEG", "Negative")
CLINICAL_PROTOCOL = Code(PLAN_DEFINITION_TYPE, "clinical-protocol", "Clinical Protocol")
PARTICIPANT_AUTHOR = Code(PROVENANCE_PARTICIPANT, "author", "Author")
PARTICIPANT_ENTERER = Code(PROVENANCE_PARTICIPANT, "enterer", "Enterer")
CAREPLAN_ASSESS_PLAN = Code(US_CORE_CAREPLAN_CATEGORY, "assess-plan", "Assessment and Plan of Treatment")
# Goal.achievementStatus (R4 goal-achievement, extensible) [hl7.org/fhir/R4/valueset-goal-achievement]
GOAL_IN_PROGRESS = Code(GOAL_ACHIEVEMENT, "in-progress", "In Progress")
GOAL_ACHIEVED = Code(GOAL_ACHIEVEMENT, "achieved", "Achieved")
GOAL_NOT_ACHIEVED = Code(GOAL_ACHIEVEMENT, "not-achieved", "Not Achieved")
OPERATION_CREATE = Code(DATA_OPERATION, "CREATE", "create")
OPERATION_UPDATE = Code(DATA_OPERATION, "UPDATE", "revise")

# -- The app's own code system (no verified standard code exists for these) -------------------
APP_RED_FLAG_PANEL = app_code("red-flag-screen", "Sciatica red-flag screen")
APP_SADDLE_ANAESTHESIA = app_code("saddle-anaesthesia", "Saddle anaesthesia")
APP_BLADDER_BOWEL = app_code("bladder-bowel", "Difficulty controlling bladder or bowel")
APP_BILATERAL = app_code("bilateral-symptoms", "Sciatica symptoms in both legs")
APP_WORSENING_PAIN = app_code("worsening-pain", "Unrelenting pain worsening despite therapy")
APP_TRAUMA = app_code("trauma", "Pain following trauma or a fall")
APP_MEDICAL_REVIEW = app_code("urgent-medical-review", "Urgent medical review for red flags")
# Follow-ups the program raises (program.triggers): a new red-flag screen after a pain flare, and
# a progress review after four weeks without improvement (not a red flag, lower priority).
APP_RESCREEN = app_code("repeat-red-flag-screen", "Repeat the red-flag screen (pain flare)")
APP_PROGRESS_REVIEW = app_code("progress-review", "Clinical review: no improvement in 4 weeks")
APP_EXERCISE_INPUT = app_code("exercise", "Prescribed exercise")
APP_CORE_STABILITY = app_code("core-stability", "Core stability exercise")
APP_NEURAL_MOBILISATION = app_code("neural-mobilisation", "Neural mobilisation")
APP_POSTURE_TRAINING = app_code("posture-training", "Posture training")
APP_RED_FLAG_HOLD = app_code("red-flag-hold", "On hold: red flag present")
# The recorded medical review: Observation.code of its outcome, and the outcomes themselves.
APP_REVIEW_OUTCOME = app_code("red-flag-review-outcome", "Red-flag medical review outcome")
APP_REVIEW_RECORD = app_code("red-flag-review-record", "Recorded red-flag medical review")
REVIEW_CLEARED = app_code("review-cleared", "Cleared to continue the exercise program")
REVIEW_REFERRED_EMERGENCY = app_code("review-referred-emergency", "Referred to emergency care")
REVIEW_REFERRED_SPECIALIST = app_code(
    "review-referred-specialist", "Referred for urgent specialist review or imaging"
)
REVIEW_STOPPED = app_code("review-stopped", "Exercise program stopped")
# Observation.method of a red-flag panel: which screen version was asked (version 1 panels,
# written before versions were marked, carry no method).
APP_SCREEN_V2 = app_code("red-flag-screen-v2", "Sciatica red-flag screen, version 2")

# Red-flag questions, version 2 (the app's own code system: no public code exists for these
# questions as questions). Keys are the stable answer keys of `program.redflags`.
RED_FLAG_QUESTIONS: dict[str, Code] = {
    key: question_code(key, display)
    for key, display in (
        ("bladder-bowel", "Asked: difficulty controlling bladder or bowel, or passing urine"),
        ("saddle-anaesthesia", "Asked: numbness around back passage, genitals or inner thighs"),
        ("bilateral-symptoms", "Asked: pain, numbness or weakness in both legs"),
        ("sexual-dysfunction", "Asked: new change in sexual function"),
        ("toilet-sensation", "Asked: altered sensation when passing urine or wiping"),
        ("rectal-fullness", "Asked: loss of the feeling that the bowel is full"),
        ("leg-weakness", "Asked: new loss of strength in leg or foot"),
        ("leg-numbness", "Asked: new loss of sensation in leg or foot"),
        ("worsening-pain", "Asked: unrelenting pain worsening despite therapy"),
        ("trauma", "Asked: pain started after an accident, fall or injury"),
        ("cancer-history", "Asked: history of cancer"),
        ("weight-loss", "Asked: unexplained weight loss"),
        ("infection-risk", "Asked: fever, weakened immune system or injected drugs"),
        ("long-term-steroids", "Asked: long-term steroid tablets"),
        ("age-at-onset", "Asked: back pain first started before 20 or after 50"),
        ("night-pain", "Asked: constant pain at night"),
    )
}
APP_EXERCISE_DONE = app_code("exercise-done", "Exercise done in the session")
APP_FOLLOW_UP = app_code("home-program-follow-up", "Follow up the patient's home exercise program")

# CDS Hooks cards (never written to FHIR): `source.topic` and the card's `overrideReasons`.
CDS_TOPIC_SUGGEST = app_code("cds-suggest-program", "Sciatica program suggestion")
CDS_TOPIC_REVIEW = app_code("cds-red-flag-review", "Open red-flag review")
CDS_TOPIC_RUNNING = app_code("cds-program-running", "Sciatica program progress")
CDS_OVERRIDE_REASONS = (
    app_code("cds-override-declined", "Patient declines a physiotherapy program"),
    app_code("cds-override-elsewhere", "Already in physiotherapy elsewhere"),
    app_code("cds-override-not-now", "Not appropriate at this visit"),
)

# Stage milestones (Task.businessStatus).
BS_NOT_STARTED = Code(BUSINESS_STATUS, "not-started", "Not started")
BS_IN_PROGRESS = Code(BUSINESS_STATUS, "in-progress", "Exercises under way")
BS_COMPLETED = Code(BUSINESS_STATUS, "criteria-met", "Progression criteria met")
BS_COMPLETED_EARLY = Code(BUSINESS_STATUS, "completed-early", "Completed early: criteria not met")
BS_ON_HOLD = Code(BUSINESS_STATUS, "red-flag-review", "Awaiting medical review")
BS_CANCELLED = Code(BUSINESS_STATUS, "stopped", "Stopped")

APP_CODE_SYSTEMS = frozenset({APP_CODES, BUSINESS_STATUS, WRITE_TAG, RUN_TAG, RED_FLAG_QUESTION})

# -- Exercise library, tailoring and the baseline assessment (issue 12) ----------------------
# The HL7 Physical Activity IG (STU1) files exercise prescriptions under this category (its
# ServiceRequest example Scen1ExerciseRx); the app reuses it as published.
PA_TEMPORARY_CODES = "http://hl7.org/fhir/us/physical-activity/CodeSystem/pa-temporary-codes"
PA_CATEGORY = Code(PA_TEMPORARY_CODES, "PhysicalActivity", "Physical Activity")
EXERCISE_DOSE_EXTENSION = f"{CANONICAL_BASE}/StructureDefinition/exercise-dose"
EXERCISE_IDENTIFIER = f"{CANONICAL_BASE}/identifier/prescribed-exercise"
APP_MOBILITY_EXERCISE = app_code("mobility-exercise", "Mobility exercise")
APP_STRENGTHENING_EXERCISE = app_code("strengthening-exercise", "Strengthening exercise")
APP_HANDOUT = app_code("home-exercise-handout", "Home exercise handout")
# Baseline assessment: no verified standard code for these findings as recorded here.
APP_ASSESSMENT_PANEL = app_code("baseline-assessment", "Sciatica physiotherapy assessment")
APP_LEG_PAIN = app_code("leg-pain", "Leg pain now (0-10)")
APP_BACK_PAIN = app_code("back-pain", "Back pain now (0-10)")
APP_SLR_LEFT = app_code("straight-leg-raise-left", "Straight-leg raise, left leg")
APP_SLR_RIGHT = app_code("straight-leg-raise-right", "Straight-leg raise, right leg")
APP_SLR_ANGLE = app_code("straight-leg-raise-angle", "Straight-leg raise angle")
APP_SLR_LEG_PAIN = app_code("straight-leg-raise-leg-pain", "Straight-leg raise reproduces leg pain")
APP_NEURO_LEFT = app_code("neuro-exam-left", "Neurological findings, left leg")
APP_NEURO_RIGHT = app_code("neuro-exam-right", "Neurological findings, right leg")
APP_WEAK_L4 = app_code("myotome-weakness-l4", "L4 myotome weakness")
APP_WEAK_L5 = app_code("myotome-weakness-l5", "L5 myotome weakness")
APP_WEAK_S1 = app_code("myotome-weakness-s1", "S1 myotome weakness")
APP_SENSORY_CHANGE = app_code("dermatomal-sensory-change", "Dermatomal sensory change")
APP_KNEE_REFLEX = app_code("knee-reflex", "Knee reflex")
APP_ANKLE_REFLEX = app_code("ankle-reflex", "Ankle reflex")
APP_REFLEX_NORMAL = app_code("reflex-normal", "Normal")
APP_REFLEX_REDUCED = app_code("reflex-reduced", "Reduced")
APP_REFLEX_ABSENT = app_code("reflex-absent", "Absent")
APP_DIRECTIONAL_PREFERENCE = app_code("directional-preference", "Directional preference")
APP_PREFERENCE_FLEXION = app_code("preference-flexion", "Flexion")
APP_PREFERENCE_EXTENSION = app_code("preference-extension", "Extension")
APP_PREFERENCE_NONE = app_code("preference-none", "No directional preference")
APP_STARTBACK = app_code("startback-risk", "STarT Back risk group")
APP_STARTBACK_LOW = app_code("startback-low", "Low risk")
APP_STARTBACK_MEDIUM = app_code("startback-medium", "Medium risk")
APP_STARTBACK_HIGH = app_code("startback-high", "High risk")
APP_PRECAUTIONS = app_code("exercise-precautions", "Exercise precautions")
APP_PRECAUTION_OSTEOPOROSIS = app_code("precaution-osteoporosis", "Osteoporosis")
APP_PRECAUTION_PREGNANCY = app_code("precaution-pregnancy", "Pregnancy")
APP_PRECAUTION_RECENT_SURGERY = app_code("precaution-recent-surgery", "Spinal surgery in the last 3 months")
APP_PRECAUTION_STENOSIS = app_code("precaution-stenosis", "Lumbar stenosis symptoms")
APP_PRECAUTION_ANTICOAGULANTS = app_code("precaution-anticoagulants", "Takes anticoagulants")
# Oswestry sections by name only (the instrument's wording is not shipped).
APP_ODI_1 = app_code("odi-pain-intensity", "Oswestry section: pain intensity")
APP_ODI_2 = app_code("odi-personal-care", "Oswestry section: personal care")
APP_ODI_3 = app_code("odi-lifting", "Oswestry section: lifting")
APP_ODI_4 = app_code("odi-walking", "Oswestry section: walking")
APP_ODI_5 = app_code("odi-sitting", "Oswestry section: sitting")
APP_ODI_6 = app_code("odi-standing", "Oswestry section: standing")
APP_ODI_7 = app_code("odi-sleeping", "Oswestry section: sleeping")
APP_ODI_8 = app_code("odi-sex-life", "Oswestry section: sex life")
APP_ODI_9 = app_code("odi-social-life", "Oswestry section: social life")
APP_ODI_10 = app_code("odi-travelling", "Oswestry section: travelling")
ODI_SECTIONS: tuple[Code, ...] = (APP_ODI_1, APP_ODI_2, APP_ODI_3, APP_ODI_4, APP_ODI_5)
ODI_SECTIONS += (APP_ODI_6, APP_ODI_7, APP_ODI_8, APP_ODI_9, APP_ODI_10)

# -- Codes the synthetic seed patients carry (ICD-10-CM leaves, checked with simple-icd-10-cm) ---
ICD_LUMBAGO_SCIATICA_RIGHT = Code(ICD10CM, "M54.41", "Lumbago with sciatica, right side")
ICD_SCIATICA_RIGHT = Code(ICD10CM, "M54.31", "Sciatica, right side")
ICD_LOW_BACK_PAIN = Code(ICD10CM, "M54.50", "Low back pain, unspecified")
