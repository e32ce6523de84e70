"""The exercise library, version 1.1.0, as data: every exercise a clinician can prescribe.

Pure data (no I/O). Each exercise names the stages it suits, the role it plays (`slot`: exercises
of one slot can stand in for each other), a level, equipment, the direction it moves the lower
back (for a directional preference), the precautions that rule it out, and its easier and harder
versions. Doses are conservative starting points: stretches 10-30 s holds, 2-4 repetitions;
strength work 2-3 days a week (ACSM); motor-control work most days. The wording is for patients.
"""

from __future__ import annotations

from fhir_rehab import codes as c
from fhir_rehab.program.model import Direction, Dosage, Exercise, Precaution

FLEX, EXT, NEUTRAL = Direction.FLEXION, Direction.EXTENSION, Direction.NEUTRAL
OSTEO, PREG, SURGERY, STENOSIS, ANTICOAG = (
    Precaution.OSTEOPOROSIS,
    Precaution.PREGNANCY,
    Precaution.RECENT_SURGERY,
    Precaution.STENOSIS,
    Precaution.ANTICOAGULANTS,
)

# Patient-facing stop signs, reviewed for safety.
NERVE_STOP = (
    "Stop if you feel pins and needles or numbness, or if pain spreads further down your leg. "
    "A gentle pull is fine; tingling is not."
)
SPREAD_STOP = "Stop if pain spreads further down your leg, or if you feel pins and needles or numbness."
LOAD_STOP = "Stop if you feel sharp pain, or pain that spreads down your leg."
BALANCE_CARE = "Stand next to a kitchen worktop or a sturdy chair so you can steady yourself."

MOBILITY, STRENGTH = c.APP_MOBILITY_EXERCISE, c.APP_STRENGTHENING_EXERCISE
CORE, NEURAL, POSTURE, AEROBIC = (
    c.APP_CORE_STABILITY,
    c.APP_NEURAL_MOBILISATION,
    c.APP_POSTURE_TRAINING,
    c.SCT_EXERCISE_THERAPY,
)


def _ex(key: str, name: str, instructions: str, dosage: Dosage, code: c.Code, **kw: object) -> Exercise:
    return Exercise(key, name, instructions, dosage, code, **kw)  # type: ignore[arg-type]


LIBRARY: tuple[Exercise, ...] = (
    # -- lower-back mobility: flexion, extension and neutral variants --------------------------
    _ex(
        "pelvic-tilt",
        "Pelvic tilts lying down",
        "Lie on your back with your knees bent and feet flat. Gently flatten your lower back into "
        "the floor by tightening your stomach muscles, hold, then relax. Breathe normally.",
        Dosage(sets=2, reps=10, hold_seconds=3, times_per_day=2),
        MOBILITY,
        stages=(1, 2),
        slot="gentle-mobility",
        level=1,
        progression="cat-camel",
    ),
    _ex(
        "knee-to-chest",
        "Single knee-to-chest stretch",
        "Lie on your back with your knees bent. Hold behind one thigh and gently draw that knee "
        "towards your chest until you feel a stretch in your lower back and buttock. Lower it slowly.",
        Dosage(reps=3, hold_seconds=20, times_per_day=2, each_side=True),
        MOBILITY,
        caution=SPREAD_STOP,
        stages=(1, 2),
        slot="spinal-mobility",
        level=1,
        direction=FLEX,
        avoid=frozenset({OSTEO, SURGERY}),
        progression="double-knee-to-chest",
    ),
    _ex(
        "double-knee-to-chest",
        "Both knees to chest",
        "Lie on your back. Bring one knee and then the other towards your chest, hold behind "
        "both thighs and rest there, breathing slowly. Lower one leg at a time.",
        Dosage(reps=3, hold_seconds=20, times_per_day=2),
        MOBILITY,
        caution=SPREAD_STOP,
        stages=(2,),
        slot="spinal-mobility",
        level=2,
        direction=FLEX,
        avoid=frozenset({OSTEO, SURGERY, PREG}),
        regression="knee-to-chest",
    ),
    _ex(
        "prone-lying",
        "Lying on your front",
        "Lie on your front on a firm bed or the floor, arms by your sides and head turned to one "
        "side. Let your lower back relax and breathe slowly. Use a pillow under your stomach if "
        "lying flat is too much at first.",
        Dosage(reps=1, minutes=3, times_per_day=3),
        MOBILITY,
        caution=SPREAD_STOP,
        stages=(1,),
        slot="spinal-mobility",
        level=1,
        direction=EXT,
        avoid=frozenset({PREG, STENOSIS}),
        progression="prone-on-elbows",
    ),
    _ex(
        "prone-on-elbows",
        "Resting on your elbows",
        "Lie on your front, then prop yourself up on your elbows with your forearms on the floor. "
        "Keep your hips on the floor and let your lower back sag gently. Hold, then lie down again.",
        Dosage(reps=5, hold_seconds=30, times_per_day=3),
        MOBILITY,
        caution=SPREAD_STOP,
        stages=(1, 2),
        slot="spinal-mobility",
        level=2,
        direction=EXT,
        avoid=frozenset({PREG, STENOSIS}),
        regression="prone-lying",
        progression="prone-press-up",
    ),
    _ex(
        "prone-press-up",
        "Prone press-ups",
        "Lie on your front with your hands under your shoulders. Straighten your arms to press "
        "your upper body up, keeping your hips on the floor and your back relaxed, then lower "
        "slowly.",
        Dosage(sets=2, reps=10, hold_seconds=2, times_per_day=2),
        MOBILITY,
        caution=SPREAD_STOP,
        stages=(1, 2),
        slot="spinal-mobility",
        level=3,
        direction=EXT,
        avoid=frozenset({PREG, STENOSIS, SURGERY}),
        regression="prone-on-elbows",
    ),
    _ex(
        "standing-back-bend",
        "Standing back bend",
        "Stand with your feet apart and your hands on the back of your hips. Gently lean "
        "backwards as far as is comfortable, keeping your knees straight, then come back up.",
        Dosage(reps=10, times_per_day=3),
        MOBILITY,
        caution=SPREAD_STOP,
        stages=(1, 2, 4),
        slot="spinal-mobility",
        level=2,
        direction=EXT,
        avoid=frozenset({STENOSIS, SURGERY}),
    ),
    _ex(
        "seated-forward-bend",
        "Seated forward bend",
        "Sit on a chair with your feet apart. Slowly bend forward, letting your hands slide down "
        "your shins towards the floor, then sit up tall again.",
        Dosage(reps=10, times_per_day=2),
        MOBILITY,
        caution=SPREAD_STOP,
        stages=(1, 2),
        slot="spinal-mobility",
        level=1,
        direction=FLEX,
        avoid=frozenset({OSTEO, SURGERY}),
        equipment=("chair",),
    ),
    _ex(
        "knee-rolls",
        "Knee rolls",
        "Lie on your back with your knees bent and together. Slowly let both knees roll to one "
        "side as far as is comfortable, keeping your shoulders on the floor, then roll to the other side.",
        Dosage(reps=10, times_per_day=2),
        MOBILITY,
        stages=(1, 2),
        slot="gentle-mobility",
        level=1,
        avoid=frozenset({SURGERY}),
        progression="open-book",
    ),
    _ex(
        "cat-camel",
        "Cat-camel",
        "Kneel on your hands and knees. Slowly round your back up towards the ceiling, then let "
        "it dip gently down. Move only as far as is comfortable.",
        Dosage(sets=2, reps=10, times_per_day=1),
        MOBILITY,
        stages=(2,),
        slot="gentle-mobility",
        level=2,
        avoid=frozenset({SURGERY}),
        regression="pelvic-tilt",
    ),
    _ex(
        "childs-pose",
        "Sitting back on your heels",
        "Kneel on your hands and knees with your knees apart. Slowly sit your bottom back towards "
        "your heels, reaching your arms forward along the floor. Hold, then come back up.",
        Dosage(reps=3, hold_seconds=20, times_per_day=1),
        MOBILITY,
        caution=SPREAD_STOP,
        stages=(2,),
        slot="spinal-mobility",
        level=2,
        direction=FLEX,
        avoid=frozenset({OSTEO, SURGERY}),
    ),
    _ex(
        "open-book",
        "Open book (upper back turn)",
        "Lie on your side with your knees bent and your arms straight out in front. Lift the top "
        "arm up and over to the other side, turning your upper body and following your hand with "
        "your eyes. Keep your knees together, then return.",
        Dosage(reps=8, each_side=True, times_per_day=1),
        MOBILITY,
        stages=(2, 4),
        slot="rotation",
        level=2,
        avoid=frozenset({OSTEO, SURGERY}),
        regression="knee-rolls",
    ),
    # -- nerve mobility (loads the sciatic nerve: pins and needles are a stop sign) -------------
    _ex(
        "supine-nerve-glide",
        "Nerve glide lying down",
        "Lie on your back and hold behind the thigh of the painful leg with the hip bent. Slowly "
        "straighten the knee until you feel a gentle pull, then bend it again. Keep moving; do not hold.",
        Dosage(sets=2, reps=10, times_per_day=2),
        NEURAL,
        caution=NERVE_STOP,
        stages=(1,),
        slot="nerve-glide",
        level=1,
        nerve_tension=True,
        avoid=frozenset({SURGERY}),
        progression="sciatic-nerve-glide",
    ),
    _ex(
        "sciatic-nerve-glide",
        "Seated nerve glide",
        "Sit tall on a chair. Straighten the painful leg while lifting your head to look up, then "
        "bend the knee while looking down. Move smoothly; do not hold.",
        Dosage(sets=2, reps=10, times_per_day=2),
        NEURAL,
        caution=NERVE_STOP,
        stages=(1, 2),
        slot="nerve-glide",
        level=2,
        nerve_tension=True,
        avoid=frozenset({SURGERY}),
        equipment=("chair",),
        regression="supine-nerve-glide",
    ),
    # -- hips, buttocks and the back of the thigh ----------------------------------------------
    _ex(
        "piriformis-stretch",
        "Buttock stretch lying down",
        "Lie on your back with your knees bent. Cross one ankle over the other knee, then draw the "
        "lower leg towards you until you feel a stretch deep in the buttock. Hold, then swap sides.",
        Dosage(reps=3, hold_seconds=30, times_per_day=2, each_side=True),
        MOBILITY,
        caution=SPREAD_STOP,
        stages=(2,),
        slot="hip-mobility",
        level=2,
        regression="seated-piriformis-stretch",
    ),
    _ex(
        "seated-piriformis-stretch",
        "Buttock stretch sitting",
        "Sit tall on a chair. Rest one ankle on the other knee and, keeping your back straight, "
        "lean forward a little until you feel a stretch in the buttock. Hold, then swap sides.",
        Dosage(reps=3, hold_seconds=30, times_per_day=2, each_side=True),
        MOBILITY,
        caution=SPREAD_STOP,
        stages=(1, 2),
        slot="hip-mobility",
        level=1,
        equipment=("chair",),
        progression="piriformis-stretch",
    ),
    _ex(
        "hip-flexor-stretch",
        "Front-of-hip stretch kneeling",
        "Kneel on one knee on a cushion with the other foot flat in front. Tuck your tailbone "
        "under and shift your weight forward until you feel a stretch at the front of the hip of "
        "the kneeling leg. Hold, then swap sides.",
        Dosage(reps=3, hold_seconds=30, times_per_day=1, each_side=True),
        MOBILITY,
        stages=(2, 4),
        slot="hip-mobility",
        level=2,
        equipment=("cushion",),
        avoid=frozenset({SURGERY}),
    ),
    _ex(
        "hamstring-stretch",
        "Back-of-thigh stretch with a strap",
        "Lie on your back, loop a strap or towel around one foot and raise the straight leg until "
        "you feel a gentle pull behind the thigh. Hold, then lower it slowly.",
        Dosage(reps=3, hold_seconds=30, times_per_day=2, each_side=True),
        MOBILITY,
        caution=NERVE_STOP,
        stages=(2,),
        slot="hamstring",
        level=2,
        nerve_tension=True,
        equipment=("strap or towel",),
        regression="seated-hamstring-stretch",
    ),
    _ex(
        "seated-hamstring-stretch",
        "Back-of-thigh stretch sitting",
        "Sit on the front of a chair with one leg straight out, heel on the floor. Keeping your "
        "back straight, lean forward from the hips until you feel a gentle pull behind the thigh.",
        Dosage(reps=3, hold_seconds=20, times_per_day=2, each_side=True),
        MOBILITY,
        caution=NERVE_STOP,
        stages=(2,),
        slot="hamstring",
        level=1,
        nerve_tension=True,
        equipment=("chair",),
        progression="hamstring-stretch",
    ),
    # -- walking and other activity --------------------------------------------------------------
    _ex(
        "short-walks",
        "Short walks",
        "Walk on level ground at a comfortable pace. Short, frequent walks are better than one long one.",
        Dosage(minutes=10, times_per_day=3),
        AEROBIC,
        stages=(1, 2),
        slot="activity",
        level=1,
        progression="walking-build-up",
    ),
    _ex(
        "walking-build-up",
        "Daily walk, building up",
        "Walk every day, adding a few minutes each week while your leg pain stays the same or eases.",
        Dosage(minutes=20, times_per_day=1),
        AEROBIC,
        stages=(2, 3),
        slot="activity",
        level=2,
        regression="short-walks",
        progression="brisk-walk",
    ),
    _ex(
        "exercise-bike",
        "Exercise bike",
        "Cycle on an exercise bike at an easy pace, sitting upright or leaning slightly forward. "
        "Many people with narrowing of the spinal canal find cycling easier than walking.",
        Dosage(minutes=15, times_per_day=1, days_per_week=5),
        AEROBIC,
        stages=(2, 3, 4),
        slot="activity",
        level=2,
        direction=FLEX,
        equipment=("exercise bike",),
        avoid=frozenset({SURGERY}),
    ),
    _ex(
        "relaxed-breathing",
        "Relaxed breathing",
        "Lie on your back with your knees supported on a pillow. Put one hand on your stomach. "
        "Breathe in slowly through your nose so your hand rises, then breathe out slowly. Let your "
        "back and shoulders relax.",
        Dosage(reps=1, minutes=5, times_per_day=2),
        MOBILITY,
        stages=(1,),
        slot="relaxation",
        level=1,
    ),
    # -- core and deep stabilising muscles ------------------------------------------------------
    _ex(
        "tummy-brace",
        "Tummy tightening lying down",
        "Lie on your back with your knees bent. Gently draw your belly button in towards your "
        "spine without moving your back, and hold while breathing normally. Relax.",
        Dosage(reps=10, hold_seconds=10, times_per_day=2),
        CORE,
        stages=(1, 3),
        slot="core",
        level=1,
        progression="heel-slides",
    ),
    _ex(
        "heel-slides",
        "Heel slides",
        "Lie on your back with your knees bent and your tummy gently tightened. Slowly slide one "
        "heel along the floor until the leg is straight, then slide it back. Keep your back still.",
        Dosage(sets=2, reps=10, each_side=True, days_per_week=5),
        CORE,
        stages=(1, 3),
        slot="core",
        level=1,
        regression="tummy-brace",
        progression="dead-bug",
    ),
    _ex(
        "dead-bug",
        "Dead bug",
        "Lie on your back with your arms up and your knees bent at a right angle above your hips. "
        "Slowly lower one arm and the opposite leg towards the floor while keeping your lower back "
        "flat, then return and swap.",
        Dosage(sets=3, reps=10, each_side=True, days_per_week=5),
        CORE,
        stages=(3,),
        slot="core",
        level=2,
        avoid=frozenset({PREG}),
        regression="heel-slides",
    ),
    _ex(
        "arm-reach-kneeling",
        "Arm reach on hands and knees",
        "Kneel on your hands and knees with a straight back. Reach one arm forward without letting "
        "your back sag or twist, hold, then swap arms.",
        Dosage(sets=2, reps=10, hold_seconds=3, each_side=True, days_per_week=5),
        CORE,
        stages=(3,),
        slot="core-kneeling",
        level=1,
        progression="bird-dog",
    ),
    _ex(
        "bird-dog",
        "Bird-dog",
        "Kneel on your hands and knees. Reach one arm forward and the opposite leg back without "
        "letting your back sag or twist. Hold, return, then swap sides.",
        Dosage(sets=3, reps=10, hold_seconds=5, each_side=True, days_per_week=5),
        CORE,
        stages=(3,),
        slot="core-kneeling",
        level=2,
        regression="arm-reach-kneeling",
    ),
    _ex(
        "side-plank-knees",
        "Side plank on knees",
        "Lie on your side propped on your elbow, knees bent. Lift your hips so you make a straight "
        "line from knees to shoulders. Hold, lower, then swap sides.",
        Dosage(reps=3, hold_seconds=20, each_side=True, days_per_week=3),
        CORE,
        caution=LOAD_STOP,
        stages=(3,),
        slot="side-core",
        level=2,
        progression="side-plank",
    ),
    _ex(
        "side-plank",
        "Side plank",
        "Lie on your side propped on your elbow with your legs straight. Lift your hips so your "
        "body makes a straight line from feet to shoulders. Hold, lower, then swap sides.",
        Dosage(reps=3, hold_seconds=20, each_side=True, days_per_week=3),
        CORE,
        caution=LOAD_STOP,
        stages=(3, 4),
        slot="side-core",
        level=3,
        avoid=frozenset({PREG, OSTEO}),
        regression="side-plank-knees",
    ),
    # -- buttocks and legs ----------------------------------------------------------------------
    _ex(
        "glute-bridge",
        "Bottom lift (bridge)",
        "Lie on your back with your knees bent. Squeeze your buttocks and lift your hips until "
        "knees, hips and shoulders are in a line. Hold, then lower slowly.",
        Dosage(sets=3, reps=12, hold_seconds=3, days_per_week=3),
        STRENGTH,
        caution=LOAD_STOP,
        stages=(3,),
        slot="glutes",
        level=2,
        regression="bottom-squeeze",
        progression="bridge-march",
    ),
    _ex(
        "bottom-squeeze",
        "Buttock squeezes lying down",
        "Lie on your back with your knees bent. Squeeze your buttocks together firmly without "
        "lifting your hips, hold, then relax.",
        Dosage(sets=2, reps=10, hold_seconds=5, days_per_week=5),
        STRENGTH,
        stages=(1, 3),
        slot="glutes",
        level=1,
        progression="glute-bridge",
    ),
    _ex(
        "bridge-march",
        "Bridge with marching",
        "Lift into a bridge. Keeping your hips level, lift one foot a little off the floor, put it "
        "down, then lift the other. Lower your hips slowly at the end.",
        Dosage(sets=3, reps=8, each_side=True, days_per_week=3),
        STRENGTH,
        caution=LOAD_STOP,
        stages=(3, 4),
        slot="glutes",
        level=3,
        avoid=frozenset({PREG}),
        regression="glute-bridge",
    ),
    _ex(
        "clamshell",
        "Clamshells",
        "Lie on your side with your knees bent and your feet together. Keeping your feet touching, "
        "lift the top knee, then lower it slowly. Do not let your hips roll back.",
        Dosage(sets=3, reps=15, each_side=True, days_per_week=3),
        STRENGTH,
        stages=(3,),
        slot="hip-strength",
        level=1,
        progression="side-leg-raise",
    ),
    _ex(
        "side-leg-raise",
        "Side-lying leg lift",
        "Lie on your side with the bottom knee bent. Keep the top leg straight and in line with "
        "your body, lift it towards the ceiling, then lower it slowly.",
        Dosage(sets=3, reps=12, each_side=True, days_per_week=3),
        STRENGTH,
        stages=(3,),
        slot="hip-strength",
        level=2,
        regression="clamshell",
    ),
    _ex(
        "prone-leg-lift",
        "Leg lifts lying on your front",
        "Lie on your front with a pillow under your stomach. Tighten your buttock and lift one "
        "straight leg a little off the floor, hold, then lower. Keep your hips on the floor.",
        Dosage(sets=2, reps=10, hold_seconds=3, each_side=True, days_per_week=3),
        STRENGTH,
        caution=LOAD_STOP,
        stages=(3,),
        slot="hip-strength",
        level=2,
        direction=EXT,
        avoid=frozenset({PREG, STENOSIS}),
    ),
    _ex(
        "mini-squat",
        "Mini squats at a worktop",
        "Stand holding a kitchen worktop, feet hip-width apart. Bend your knees and push your hips "
        "back a little as if to sit, keeping your back straight, then stand up tall.",
        Dosage(sets=3, reps=10, days_per_week=3),
        STRENGTH,
        stages=(3, 4),
        slot="legs",
        level=1,
        progression="sit-to-stand",
    ),
    _ex(
        "sit-to-stand",
        "Sit to stand",
        "Sit on the front of a firm chair with your feet flat. Lean forward and stand up without "
        "using your hands, then sit down slowly.",
        Dosage(sets=3, reps=12, days_per_week=3),
        STRENGTH,
        stages=(3, 4),
        slot="legs",
        level=2,
        equipment=("chair",),
        regression="mini-squat",
        progression="step-up",
    ),
    _ex(
        "step-up",
        "Step-ups",
        "Stand facing the bottom stair, holding the rail. Step up with one foot, bring the other "
        "up beside it, then step down with the first foot. Swap the leading leg halfway through.",
        Dosage(sets=3, reps=10, each_side=True, days_per_week=3),
        STRENGTH,
        caution=BALANCE_CARE,
        stages=(4,),
        slot="legs",
        level=3,
        equipment=("stairs with a rail",),
        avoid=frozenset({ANTICOAG}),
        regression="sit-to-stand",
    ),
    _ex(
        "heel-raise",
        "Heel raises",
        "Stand holding a worktop, feet hip-width apart. Rise up onto your toes, then lower your "
        "heels slowly. This keeps the calf and ankle muscles strong.",
        Dosage(sets=3, reps=15, days_per_week=3),
        STRENGTH,
        caution=BALANCE_CARE,
        stages=(3, 4),
        slot="calves",
        level=1,
    ),
    # -- function, lifting, turning and posture -------------------------------------------------
    _ex(
        "hip-hinge-stick",
        "Hip hinge with a broom handle",
        "Hold a broom handle along your back so it touches your head, upper back and bottom. With "
        "soft knees, push your hips back and lean forward from the hips, keeping all three points "
        "touching the stick, then stand up tall.",
        Dosage(sets=2, reps=10, days_per_week=4),
        POSTURE,
        stages=(3, 4),
        slot="lifting",
        level=1,
        equipment=("broom handle",),
        progression="hip-hinge",
    ),
    _ex(
        "hip-hinge",
        "Hip hinge with a light load",
        "Stand with your feet hip-width apart and soft knees, holding a light bag. Push your hips "
        "back keeping your back straight, lower the bag towards your knees, then stand up tall.",
        Dosage(sets=3, reps=8, days_per_week=3),
        STRENGTH,
        caution=LOAD_STOP,
        stages=(4,),
        slot="lifting",
        level=2,
        equipment=("light bag",),
        avoid=frozenset({OSTEO}),
        regression="hip-hinge-stick",
        progression="floor-lift",
    ),
    _ex(
        "floor-lift",
        "Lifting from the floor",
        "Stand close to a light box, feet either side. Bend your hips and knees, keep your back "
        "straight, grip the box and stand up by pushing through your legs, holding it close. "
        "Lower it the same way.",
        Dosage(sets=3, reps=6, days_per_week=3),
        STRENGTH,
        caution=LOAD_STOP,
        stages=(4,),
        slot="lifting",
        level=3,
        equipment=("light box",),
        avoid=frozenset({OSTEO, SURGERY, PREG}),
        regression="hip-hinge",
    ),
    _ex(
        "suitcase-carry",
        "Carrying a bag on one side",
        "Hold a moderately heavy bag in one hand and walk tall for about 20 steps without leaning "
        "to either side. Swap hands and walk back.",
        Dosage(sets=3, reps=2, each_side=True, days_per_week=3),
        STRENGTH,
        stages=(4,),
        slot="carrying",
        level=2,
        equipment=("shopping bag",),
        avoid=frozenset({SURGERY}),
    ),
    _ex(
        "pivot-turn",
        "Turning with your feet",
        "Hold a light object close to your body. To turn, take small steps with your feet so your "
        "hips and shoulders turn together, then put the object down. Practise turning both ways.",
        Dosage(sets=2, reps=5, each_side=True, days_per_week=4),
        POSTURE,
        stages=(4,),
        slot="rotation",
        level=1,
        progression="standing-rotation",
    ),
    _ex(
        "standing-rotation",
        "Controlled standing twist",
        "Stand with your feet hip-width apart and your arms folded across your chest. Slowly turn "
        "your upper body to one side as far as is comfortable, then back to the middle and to the "
        "other side. Keep it smooth; add a light object held close once this is easy.",
        Dosage(sets=2, reps=8, each_side=True, days_per_week=4),
        MOBILITY,
        stages=(4, 5),
        slot="rotation",
        level=2,
        avoid=frozenset({OSTEO, SURGERY}),
        regression="pivot-turn",
    ),
    _ex(
        "posture-reset",
        "Posture reset breaks",
        "Every hour of sitting: stand up, roll your shoulders back, lengthen your spine and walk "
        "for a minute.",
        Dosage(reps=1, minutes=1, times_per_day=8, days_per_week=5),
        POSTURE,
        stages=(1, 2, 3, 4),
        slot="posture",
        level=1,
    ),
    _ex(
        "brisk-walk",
        "Brisk walking",
        "Walk briskly enough to feel warm and slightly out of breath, but still able to talk.",
        Dosage(minutes=30, days_per_week=5),
        AEROBIC,
        stages=(3, 4, 5),
        slot="activity",
        level=3,
        regression="walking-build-up",
    ),
    # -- stage 5: the long-term home routine, with its own instructions -------------------------
    _ex(
        "maintenance-bridge",
        "Bottom lift (keep-up routine)",
        "Lie on your back with your knees bent and feet flat. Squeeze your buttocks and lift your "
        "hips until knees, hips and shoulders are in a line, hold for a breath, then lower slowly.",
        Dosage(sets=2, reps=12, days_per_week=3),
        STRENGTH,
        caution=LOAD_STOP,
        stages=(5,),
        slot="glutes",
        level=2,
    ),
    _ex(
        "maintenance-bird-dog",
        "Bird-dog (keep-up routine)",
        "Kneel on your hands and knees with a straight back. Reach one arm forward and the "
        "opposite leg back, keeping your back still, hold for a breath, then swap sides.",
        Dosage(sets=2, reps=10, each_side=True, days_per_week=3),
        CORE,
        stages=(5,),
        slot="core-kneeling",
        level=2,
    ),
    _ex(
        "maintenance-hamstring",
        "Back-of-thigh stretch (keep-up routine)",
        "Lie on your back, loop a towel around one foot and raise the straight leg until you feel "
        "a gentle pull behind the thigh. Hold, lower slowly, then swap legs.",
        Dosage(reps=2, hold_seconds=30, each_side=True, days_per_week=3),
        MOBILITY,
        caution=NERVE_STOP,
        stages=(5,),
        slot="hamstring",
        level=2,
        nerve_tension=True,
        equipment=("towel",),
    ),
    _ex(
        "maintenance-mobility",
        "Back mobility (keep-up routine)",
        "Kneel on your hands and knees. Slowly round your back up, then let it dip gently down. "
        "Then roll your knees side to side lying on your back. Both gently, within comfort.",
        Dosage(reps=10, times_per_day=1, days_per_week=5),
        MOBILITY,
        stages=(5,),
        slot="gentle-mobility",
        level=1,
        avoid=frozenset({SURGERY}),
    ),
    _ex(
        "regular-activity",
        "Regular activity you enjoy",
        "Walking, swimming or cycling you enjoy, at a pace that makes you warm and slightly out of breath.",
        Dosage(minutes=30, days_per_week=5),
        AEROBIC,
        stages=(5,),
        slot="activity",
        level=2,
    ),
)

BY_KEY: dict[str, Exercise] = {e.key: e for e in LIBRARY}


def library_exercise(key: str) -> Exercise:
    """The library exercise with this key (KeyError if none)."""
    return BY_KEY[key]
