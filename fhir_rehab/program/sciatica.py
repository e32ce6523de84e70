"""The staged sciatica physiotherapy program, version 1.0.0, as data.

Source: seed/sciatica-physiotherapy-article.txt (stages 1-4 and "Long-term prevention");
dosages are conservative starting points a physiotherapist adjusts.
"""

from __future__ import annotations

from fhir_rehab import codes as c
from fhir_rehab.program.model import Dosage, Exercise, Program, Progression, Stage

PROGRAM_URL = f"{c.CANONICAL_BASE}/PlanDefinition/sciatica-physiotherapy"
PROGRAM_VERSION = "1.0.0"

_STOP_IF_SPREADING = "Stop if pain spreads further down the leg; mild stretch is fine."

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
    exercises=(
        Exercise(
            "pelvic-tilt",
            "Pelvic tilts lying down",
            "Lie on your back, knees bent. Gently flatten your lower back into the floor "
            "by tightening your stomach, then relax.",
            Dosage(sets=2, reps=10, hold_seconds=3, times_per_day=2),
            c.SCT_RANGE_OF_MOTION,
        ),
        Exercise(
            "knee-to-chest",
            "Single knee-to-chest stretch",
            "Lie on your back. Hug one knee gently towards your chest until you feel a "
            "stretch in your lower back and buttock.",
            Dosage(reps=3, hold_seconds=20, times_per_day=2, each_side=True),
            c.SCT_RANGE_OF_MOTION,
            _STOP_IF_SPREADING,
        ),
        Exercise(
            "sciatic-nerve-glide",
            "Seated sciatic nerve glide",
            "Sit tall. Straighten the painful leg while lifting your head to look up, then "
            "bend the knee while looking down. Move smoothly; do not hold.",
            Dosage(sets=2, reps=10, times_per_day=2),
            c.APP_NEURAL_MOBILISATION,
            "Gentle movement only: never push into sharp or burning pain.",
        ),
        Exercise(
            "short-walks",
            "Short walks",
            "Walk on level ground at a comfortable pace.",
            Dosage(minutes=10, times_per_day=3),
            c.SCT_EXERCISE_THERAPY,
        ),
    ),
    education=(
        "Movement is safe and helps recovery; long bed rest slows it down.",
        "Rest on your side with a pillow between your knees, or on your back with your knees supported.",
        "Change position at least every 30 minutes when sitting.",
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
    exercises=(
        Exercise(
            "prone-press-up",
            "Prone press-ups",
            "Lie on your front, hands under your shoulders. Press your upper body up, "
            "keeping your hips on the floor, then lower slowly.",
            Dosage(sets=2, reps=10, hold_seconds=2, times_per_day=2),
            c.SCT_RANGE_OF_MOTION,
            _STOP_IF_SPREADING,
        ),
        Exercise(
            "piriformis-stretch",
            "Piriformis (figure-4) stretch",
            "Lie on your back, cross one ankle over the other knee and draw the lower leg "
            "towards you until you feel a stretch in the buttock.",
            Dosage(reps=3, hold_seconds=30, times_per_day=2, each_side=True),
            c.SCT_RANGE_OF_MOTION,
        ),
        Exercise(
            "hamstring-stretch",
            "Hamstring stretch with a strap",
            "Lie on your back, loop a strap around one foot and raise the straight leg "
            "until you feel a stretch behind the thigh.",
            Dosage(reps=3, hold_seconds=30, times_per_day=2, each_side=True),
            c.SCT_RANGE_OF_MOTION,
            _STOP_IF_SPREADING,
        ),
        Exercise(
            "cat-camel",
            "Cat-camel",
            "On hands and knees, slowly round your back up, then let it sag gently.",
            Dosage(sets=2, reps=10, times_per_day=1),
            c.SCT_RANGE_OF_MOTION,
        ),
    ),
    education=(
        "Warmth before stretching can make it more comfortable.",
        "Stretch to a gentle pull, never to pain.",
        "Keep walking daily and build up the distance.",
    ),
    progression=Progression(
        max_pain=4,
        min_days=14,
        clinical=(
            "Straight-leg raise improving compared with the assessment",
            "Able to sit for 30 minutes",
        ),
    ),
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
    exercises=(
        Exercise(
            "glute-bridge",
            "Glute bridge",
            "Lie on your back, knees bent. Squeeze your buttocks and lift your hips until "
            "knees, hips and shoulders line up; lower slowly.",
            Dosage(sets=3, reps=12, hold_seconds=3, days_per_week=5),
            c.SCT_STRENGTHENING,
        ),
        Exercise(
            "bird-dog",
            "Bird-dog",
            "On hands and knees, reach one arm forward and the opposite leg back without "
            "letting your back sag or twist.",
            Dosage(sets=3, reps=10, hold_seconds=5, each_side=True, days_per_week=5),
            c.APP_CORE_STABILITY,
        ),
        Exercise(
            "dead-bug",
            "Dead bug",
            "Lie on your back, arms up, knees bent at 90 degrees. Lower one arm and the "
            "opposite leg while keeping your lower back flat.",
            Dosage(sets=3, reps=10, each_side=True, days_per_week=5),
            c.APP_CORE_STABILITY,
        ),
        Exercise(
            "side-plank-knees",
            "Side plank on knees",
            "Lie on your side propped on your elbow, knees bent. Lift your hips into a "
            "straight line from knees to shoulders.",
            Dosage(reps=3, hold_seconds=20, each_side=True, days_per_week=5),
            c.APP_CORE_STABILITY,
        ),
        Exercise(
            "clamshell",
            "Clamshells",
            "Lie on your side, knees bent. Keep your feet together and open the top knee.",
            Dosage(sets=3, reps=15, each_side=True, days_per_week=5),
            c.SCT_STRENGTHENING,
        ),
    ),
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
    exercises=(
        Exercise(
            "hip-hinge",
            "Hip hinge with a light load",
            "Feet hip-width apart, soft knees. Push your hips back keeping your back "
            "straight, lower a light object towards your knees and stand up tall.",
            Dosage(sets=3, reps=8, days_per_week=4),
            c.SCT_STRENGTHENING,
        ),
        Exercise(
            "sit-to-stand",
            "Sit to stand",
            "Stand up from a chair without using your hands, and sit down slowly.",
            Dosage(sets=3, reps=12, days_per_week=5),
            c.SCT_STRENGTHENING,
        ),
        Exercise(
            "posture-reset",
            "Posture reset breaks",
            "Every hour of sitting: stand, roll your shoulders back, lengthen your spine "
            "and walk for a minute.",
            Dosage(reps=1, minutes=1, times_per_day=8, days_per_week=5),
            c.APP_POSTURE_TRAINING,
        ),
        Exercise(
            "brisk-walk",
            "Brisk walking",
            "Walk briskly enough to feel warm and slightly out of breath.",
            Dosage(minutes=30, days_per_week=5),
            c.SCT_EXERCISE_THERAPY,
        ),
    ),
    education=(
        "Set up your workstation: screen at eye level, feet flat, lower back supported.",
        "Lift close to your body; turn with your feet rather than twisting your back.",
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
    exercises=(
        Exercise(
            "maintenance-bridge",
            "Glute bridge (maintenance)",
            "As in stage 3.",
            Dosage(sets=2, reps=12, days_per_week=3),
            c.SCT_STRENGTHENING,
        ),
        Exercise(
            "maintenance-bird-dog",
            "Bird-dog (maintenance)",
            "As in stage 3.",
            Dosage(sets=2, reps=10, each_side=True, days_per_week=3),
            c.APP_CORE_STABILITY,
        ),
        Exercise(
            "maintenance-hamstring",
            "Hamstring stretch (maintenance)",
            "As in stage 2.",
            Dosage(reps=2, hold_seconds=30, each_side=True, days_per_week=3),
            c.SCT_RANGE_OF_MOTION,
        ),
        Exercise(
            "regular-activity",
            "Regular activity",
            "Walking, swimming or cycling you enjoy.",
            Dosage(minutes=30, days_per_week=5),
            c.SCT_EXERCISE_THERAPY,
        ),
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
)
