"""The staged sciatica physiotherapy program, version 1.1.0, as data.

Source: seed/sciatica-physiotherapy-article.txt (stages 1-4 and "Long-term prevention");
dosages are conservative starting points a physiotherapist adjusts. Each stage names its default
exercises from the library (`program.library`); the clinician tailors them per patient.
1.1.0: the exercise library, doses whose schedule matches their words, safety wording reviewed.
"""

from __future__ import annotations

from fhir_rehab import codes as c
from fhir_rehab.program.library import LIBRARY, library_exercise
from fhir_rehab.program.model import Exercise, Program, Progression, Stage

PROGRAM_URL = f"{c.CANONICAL_BASE}/PlanDefinition/sciatica-physiotherapy"
PROGRAM_VERSION = "1.1.0"

# Patient-facing safety points, reviewed: numb skin and heat; numbness told apart.
WARMTH = (
    "A warm shower, or a warm (not hot) pack wrapped in a towel for 10-15 minutes, can ease pain "
    "and make stretching more comfortable. Never put heat on skin that feels numb: you may not "
    "feel it burning."
)
NUMBNESS = (
    "Some numbness or tingling in the leg is common with sciatica. If numbness is new or "
    "spreading, or your leg or foot gets weaker, contact us or your doctor the same day."
)


def _pick(*keys: str) -> tuple[Exercise, ...]:
    return tuple(library_exercise(key) for key in keys)


STAGE_1 = Stage(
    number=1,
    key="assessment-pain-control",
    title="Assessment and pain control",
    summary="Calm the irritated nerve, ease pain and keep moving safely.",
    code=c.SCT_PHYSICAL_THERAPY,
    typical_weeks=2,
    goals=(
        "Reduce pain and nerve irritation",
        "Find comfortable positions for rest and sleep",
        "Stay gently active instead of resting in bed",
    ),
    exercises=_pick("pelvic-tilt", "knee-to-chest", "supine-nerve-glide", "short-walks"),
    education=(
        "Movement is safe and helps recovery; long bed rest slows it down.",
        "Rest on your side with a pillow between your knees, or on your back with your knees supported.",
        "Change position at least every 30 minutes when sitting.",
        WARMTH,
        NUMBNESS,
        "Seek urgent medical help at once if a red flag appears (see the red-flag list).",
    ),
    progression=Progression(
        max_pain=6,
        min_days=7,
        clinical=(
            "Leg pain stable or moving back towards the spine (centralising)",
            "Able to walk 10 minutes without leg pain worsening",
        ),
    ),
)

STAGE_2 = Stage(
    number=2,
    key="restoring-mobility",
    title="Restoring mobility",
    summary="Improve flexibility and range of motion in the lower back, hips and hamstrings.",
    code=c.SCT_RANGE_OF_MOTION,
    typical_weeks=3,
    goals=(
        "Restore lower-back and hip range of motion",
        "Reduce pressure on the sciatic nerve through flexibility",
        "Return to natural movement patterns",
    ),
    exercises=_pick("prone-press-up", "piriformis-stretch", "hamstring-stretch", "cat-camel"),
    education=(
        WARMTH,
        "Stretch to a gentle pull, never to pain. Pins and needles during a stretch mean stop.",
        "Keep walking daily and build up the distance.",
    ),
    progression=Progression(max_pain=4, min_days=14, slr_gain=10, clinical=("Able to sit for 30 minutes",)),
)

STAGE_3 = Stage(
    number=3,
    key="strength-stability",
    title="Strength and stability training",
    summary="Strengthen the core, glutes and legs to support the spine.",
    code=c.SCT_STRENGTHENING,
    typical_weeks=5,
    goals=(
        "Build core and gluteal strength to support the spine and pelvis",
        "Improve spinal stability and resilience",
        "Make flare-ups less likely",
    ),
    exercises=_pick("glute-bridge", "bird-dog", "dead-bug", "side-plank-knees", "clamshell"),
    education=(
        "Muscle soreness for a day or two after strength work is normal; sharp or spreading leg pain is not.",
        "Add repetitions before you add weight.",
    ),
    progression=Progression(
        max_pain=3, min_days=21, function_gain=10, clinical=("Performs the exercises with good control",)
    ),
)

STAGE_4 = Stage(
    number=4,
    key="functional-postural",
    title="Functional and postural retraining",
    summary="Bring new movement habits into daily life: posture, lifting and work ergonomics.",
    code=c.SCT_EXERCISE_THERAPY,
    typical_weeks=3,
    goals=(
        "Refine posture at the desk, driving and exercising",
        "Lift, bend and twist with good mechanics",
        "Return safely to work, sport and usual activities",
    ),
    exercises=_pick("hip-hinge", "sit-to-stand", "pivot-turn", "posture-reset", "brisk-walk"),
    education=(
        "Set up your workstation: screen at eye level, feet flat, lower back supported.",
        "Lift close to your body. While lifting or carrying, turn by moving your feet. Without a "
        "load, the turning drills train your back to twist with control: twisting is not harmful "
        "in itself.",
        "Plan a gradual return to work and sport with your physiotherapist.",
    ),
    progression=Progression(
        max_pain=2,
        min_days=14,
        clinical=(
            "Back to work, sport or usual activities without flare-ups",
            "Safe lifting technique observed",
        ),
    ),
)

STAGE_5 = Stage(
    number=5,
    key="long-term-prevention",
    title="Long-term prevention",
    summary="A home program and education to keep the back healthy and prevent recurrence.",
    code=c.SCT_BACK_PAIN_PREVENTION,
    typical_weeks=12,
    goals=(
        "Keep mobility and strength with a consistent routine",
        "Recognise and manage personal triggers",
        "Prevent future episodes",
    ),
    exercises=_pick(
        "maintenance-bridge",
        "maintenance-bird-dog",
        "maintenance-hamstring",
        "maintenance-mobility",
        "regular-activity",
    ),
    education=(
        "Know your triggers: long sitting, heavy or awkward lifting, sudden increases in activity.",
        "Keep your routine going when you feel well: that is what prevents recurrence.",
        "If symptoms return, restart the stage 1 and 2 exercises and contact your physiotherapist.",
    ),
    progression=Progression(
        max_pain=None, min_days=0, clinical=("Review at 3 months: no recurrence, routine maintained",)
    ),
)

SCIATICA_PROGRAM = Program(
    url=PROGRAM_URL,
    version=PROGRAM_VERSION,
    name="SciaticaPhysiotherapyProgram",
    title="Staged physiotherapy program for sciatica",
    description="Four staged phases of physiotherapy for sciatica, then long-term prevention: "
    "assessment and pain control, restoring mobility, strength and stability, "
    "functional and postural retraining.",
    publisher="fhir-rehab",
    stages=(STAGE_1, STAGE_2, STAGE_3, STAGE_4, STAGE_5),
    library=LIBRARY,
)
