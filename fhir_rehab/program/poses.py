"""A small pose model for exercise pictures: segment angles for a start and an end position.

Pure data. A pose gives the direction of each body segment in degrees (0 = to the right,
90 = straight up) for the near limbs and, where they differ, the far ones; `base` says how the
body rests (lying, kneeling, sitting, standing) so the picture can add a floor, a chair or a
step. The renderer (`fhir_rehab.web.pictures`) turns a PosePair into an SVG with a floor line
and an arrow from where the moving joint starts to where it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

SEGMENTS = ("trunk", "head", "arm", "forearm", "thigh", "shin", "foot")
JOINTS = ("hip", "shoulder", "head", "elbow", "hand", "knee", "ankle", "toe")


@dataclass(frozen=True)
class Pose:
    """Segment directions in degrees; `far` overrides the far arm/leg (e.g. {"thigh": 80})."""

    trunk: float
    head: float
    arm: float
    forearm: float
    thigh: float
    shin: float
    foot: float
    far: dict[str, float] = field(default_factory=dict)
    base: str = "floor"  # floor | chair | step

    def moved(self, **changes: Any) -> Pose:
        """A copy with some near segments changed; `far_<segment>` changes a far one."""
        near = {k: v for k, v in changes.items() if not k.startswith("far_")}
        far = {**self.far, **{k[4:]: v for k, v in changes.items() if k.startswith("far_")}}
        return replace(self, far=far, **near)


@dataclass(frozen=True)
class PosePair:
    """Start and end position, and the joint whose path the arrow shows (near side unless
    `far_side`)."""

    start: Pose
    end: Pose
    moving: str
    far_side: bool = False
    props: tuple[str, ...] = ()  # strap, stick, bag, box, bike


# Base positions (the figure faces right unless lying on the back, head to the left).
STAND = Pose(trunk=90, head=90, arm=-92, forearm=-88, thigh=-90, shin=-90, foot=0)
SIT = Pose(trunk=90, head=90, arm=-70, forearm=-10, thigh=0, shin=-90, foot=0, base="chair")
HOOK = Pose(trunk=180, head=180, arm=-5, forearm=-5, thigh=55, shin=-55, foot=0)  # on the back
SUPINE = Pose(trunk=180, head=180, arm=-5, forearm=-5, thigh=0, shin=0, foot=90)
PRONE = Pose(trunk=0, head=-10, arm=-175, forearm=-178, thigh=180, shin=180, foot=250)
KNEEL4 = Pose(trunk=0, head=-15, arm=-90, forearm=-90, thigh=-90, shin=180, foot=180)  # hands and knees
SIDE = Pose(trunk=180, head=180, arm=-20, forearm=-10, thigh=-30, shin=-150, foot=-150)  # on one side
HALF_KNEEL = Pose(
    trunk=90, head=90, arm=-90, forearm=-90, thigh=-90, shin=180, foot=180, far={"thigh": -30, "shin": -90}
)


def _pair(start: Pose, end: Pose, moving: str, *props: str, far_side: bool = False) -> PosePair:
    return PosePair(start, end, moving, far_side, props)


POSES: dict[str, PosePair] = {
    "pelvic-tilt": _pair(HOOK.moved(trunk=176), HOOK.moved(trunk=184), "hip"),
    "knee-to-chest": _pair(HOOK, HOOK.moved(thigh=120, shin=10, arm=20, forearm=40), "knee"),
    "double-knee-to-chest": _pair(
        HOOK, HOOK.moved(thigh=120, shin=10, far_thigh=118, far_shin=8, arm=20, forearm=40), "knee"
    ),
    "prone-lying": _pair(PRONE, PRONE.moved(head=-5), "head"),
    "prone-on-elbows": _pair(PRONE, PRONE.moved(trunk=22, head=15, arm=-100, forearm=0), "shoulder"),
    "prone-press-up": _pair(
        PRONE.moved(arm=-100, forearm=0), PRONE.moved(trunk=40, head=35, arm=-95, forearm=-90), "shoulder"
    ),
    "standing-back-bend": _pair(STAND, STAND.moved(trunk=110, head=120, arm=-60, forearm=-20), "shoulder"),
    "seated-forward-bend": _pair(SIT, SIT.moved(trunk=20, head=-10, arm=-80, forearm=-85), "shoulder"),
    "knee-rolls": _pair(HOOK, HOOK.moved(thigh=30, shin=-70, far_thigh=25, far_shin=-75), "knee"),
    "cat-camel": _pair(KNEEL4.moved(trunk=12, head=-40), KNEEL4.moved(trunk=-8, head=10), "shoulder"),
    "childs-pose": _pair(KNEEL4, KNEEL4.moved(trunk=-5, thigh=-160, arm=-170, forearm=0, head=-10), "hip"),
    "open-book": _pair(
        SIDE.moved(arm=-80, forearm=-80),
        SIDE.moved(arm=100, forearm=100, far_arm=-80, far_forearm=-80),
        "hand",
    ),
    "supine-nerve-glide": _pair(HOOK.moved(thigh=90, shin=-20), HOOK.moved(thigh=90, shin=70), "ankle"),
    "sciatic-nerve-glide": _pair(SIT.moved(head=70), SIT.moved(shin=-10, head=110), "ankle"),
    "piriformis-stretch": _pair(HOOK, HOOK.moved(thigh=110, shin=-10, far_thigh=90, far_shin=0), "knee"),
    "seated-piriformis-stretch": _pair(
        SIT.moved(shin=-10, far_shin=-90), SIT.moved(trunk=65, shin=-10), "shoulder"
    ),
    "hip-flexor-stretch": _pair(HALF_KNEEL, HALF_KNEEL.moved(thigh=-110, far_thigh=-5, far_shin=-100), "hip"),
    "hamstring-stretch": _pair(SUPINE, SUPINE.moved(thigh=70, shin=70, foot=160), "ankle", "strap"),
    "seated-hamstring-stretch": _pair(SIT.moved(shin=-20), SIT.moved(shin=-20, trunk=60), "shoulder"),
    "short-walks": _pair(
        STAND.moved(thigh=-75, shin=-95, far_thigh=-105, far_shin=-110),
        STAND.moved(thigh=-105, shin=-110, far_thigh=-75, far_shin=-95),
        "ankle",
    ),
    "walking-build-up": _pair(
        STAND.moved(thigh=-72, shin=-95, far_thigh=-108, far_shin=-115),
        STAND.moved(thigh=-108, shin=-115, far_thigh=-72, far_shin=-95),
        "ankle",
    ),
    "exercise-bike": _pair(
        SIT.moved(trunk=70, thigh=20, shin=-80, arm=-20, forearm=0),
        SIT.moved(trunk=70, thigh=-20, shin=-95, arm=-20, forearm=0),
        "ankle",
        "bike",
    ),
    "relaxed-breathing": _pair(HOOK, HOOK.moved(trunk=178), "shoulder"),
    "tummy-brace": _pair(HOOK, HOOK.moved(trunk=179), "hip"),
    "heel-slides": _pair(HOOK, HOOK.moved(thigh=10, shin=-8), "ankle"),
    "dead-bug": _pair(
        HOOK.moved(thigh=90, shin=0, arm=90, forearm=90),
        HOOK.moved(
            thigh=20, shin=5, arm=175, forearm=175, far_thigh=90, far_shin=0, far_arm=90, far_forearm=90
        ),
        "ankle",
    ),
    "arm-reach-kneeling": _pair(KNEEL4, KNEEL4.moved(arm=0, forearm=0), "hand"),
    "bird-dog": _pair(KNEEL4, KNEEL4.moved(arm=5, forearm=5, far_thigh=175, far_shin=178), "hand"),
    "side-plank-knees": _pair(
        SIDE.moved(trunk=180, arm=-90, forearm=180), SIDE.moved(trunk=160, arm=-90, forearm=180), "hip"
    ),
    "side-plank": _pair(
        SIDE.moved(thigh=0, shin=0, foot=0, arm=-90, forearm=180),
        SIDE.moved(trunk=165, thigh=-15, shin=-15, arm=-90, forearm=180),
        "hip",
    ),
    "glute-bridge": _pair(HOOK, HOOK.moved(trunk=195, thigh=25, shin=-75), "hip"),
    "bottom-squeeze": _pair(HOOK, HOOK.moved(trunk=182), "hip"),
    "bridge-march": _pair(
        HOOK.moved(trunk=195, thigh=25, shin=-75),
        HOOK.moved(trunk=195, thigh=70, shin=-20, far_thigh=25, far_shin=-75),
        "knee",
    ),
    "clamshell": _pair(SIDE, SIDE.moved(far_thigh=20, far_shin=-140), "knee", far_side=True),
    "side-leg-raise": _pair(
        SIDE.moved(far_thigh=0, far_shin=0, far_foot=0),
        SIDE.moved(far_thigh=25, far_shin=25, far_foot=25),
        "ankle",
        far_side=True,
    ),
    "prone-leg-lift": _pair(PRONE, PRONE.moved(thigh=165, shin=165), "ankle"),
    "mini-squat": _pair(STAND, STAND.moved(trunk=70, thigh=-35, shin=-115, arm=-20, forearm=-20), "hip"),
    "sit-to-stand": _pair(SIT.moved(trunk=70), STAND.moved(base="chair"), "hip"),
    "step-up": _pair(
        STAND.moved(far_thigh=-40, far_shin=-100, base="step"), STAND.moved(trunk=88, base="step"), "hip"
    ),
    "heel-raise": _pair(STAND, STAND.moved(foot=-40), "ankle"),
    "hip-hinge-stick": _pair(STAND, STAND.moved(trunk=40, head=35, thigh=-75, shin=-95), "shoulder", "stick"),
    "hip-hinge": _pair(STAND, STAND.moved(trunk=35, head=30, thigh=-70, shin=-95), "hand", "bag"),
    "floor-lift": _pair(
        STAND.moved(trunk=55, head=40, thigh=-15, shin=-115, arm=-90, forearm=-90), STAND, "hand", "box"
    ),
    "suitcase-carry": _pair(
        STAND.moved(thigh=-75, shin=-95, far_thigh=-105, far_shin=-110),
        STAND.moved(thigh=-105, shin=-110, far_thigh=-75, far_shin=-95),
        "ankle",
        "bag",
    ),
    "pivot-turn": _pair(
        STAND.moved(arm=-40, forearm=10),
        STAND.moved(arm=-40, forearm=10, thigh=-80, far_thigh=-100),
        "ankle",
        "box",
    ),
    "standing-rotation": _pair(
        STAND.moved(arm=-30, forearm=170), STAND.moved(arm=-60, forearm=140, head=80), "elbow"
    ),
    "posture-reset": _pair(SIT.moved(trunk=110, head=60), STAND, "shoulder"),
    "brisk-walk": _pair(
        STAND.moved(trunk=85, thigh=-65, shin=-95, far_thigh=-115, far_shin=-120, arm=-60, forearm=-10),
        STAND.moved(trunk=85, thigh=-115, shin=-120, far_thigh=-65, far_shin=-95, arm=-120, forearm=-100),
        "ankle",
    ),
    "maintenance-bridge": _pair(HOOK, HOOK.moved(trunk=195, thigh=25, shin=-75), "hip"),
    "maintenance-bird-dog": _pair(
        KNEEL4, KNEEL4.moved(arm=5, forearm=5, far_thigh=175, far_shin=178), "hand"
    ),
    "maintenance-hamstring": _pair(SUPINE, SUPINE.moved(thigh=70, shin=70, foot=160), "ankle", "strap"),
    "maintenance-mobility": _pair(
        KNEEL4.moved(trunk=12, head=-40), KNEEL4.moved(trunk=-8, head=10), "shoulder"
    ),
    "regular-activity": _pair(
        STAND.moved(trunk=85, thigh=-65, shin=-95, far_thigh=-115, far_shin=-120),
        STAND.moved(trunk=85, thigh=-115, shin=-120, far_thigh=-65, far_shin=-95),
        "ankle",
    ),
}


def pose_for(key: str) -> PosePair:
    """The picture's pose pair for a library exercise (KeyError if it has none)."""
    return POSES[key]
