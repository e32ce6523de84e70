"""Exercise pictures the app draws itself: an SVG from the pose model (no copied images).

`exercise_picture(key)` returns inline SVG: the start position as a light dashed figure, the end
position as a solid one, a floor line, props (chair, strap, bag...) and an arrow along the path
of the moving joint. Plain SVG shapes only (no markers, no CSS), so WeasyPrint prints it too.
"""

from __future__ import annotations

import math
from functools import lru_cache

from markupsafe import Markup, escape

from fhir_rehab.program.poses import Pose, PosePair, pose_for

LENGTHS = {"trunk": 46.0, "arm": 24.0, "forearm": 22.0, "thigh": 36.0, "shin": 34.0, "foot": 10.0}
HEAD_OFFSET, HEAD_R = 13.0, 7.0
WIDTH, HEIGHT, MARGIN = 160.0, 100.0, 8.0
START_COLOUR, END_COLOUR, ARROW_COLOUR, FLOOR_COLOUR = "#8a96a3", "#1f2d3d", "#c2410c", "#5b6670"

Point = tuple[float, float]


def _step(origin: Point, angle: float, length: float) -> Point:
    rad = math.radians(angle)
    return origin[0] + length * math.cos(rad), origin[1] + length * math.sin(rad)


def joints(pose: Pose, far: bool = False) -> dict[str, Point]:
    """Forward kinematics from the hip at (0, 0), y up. `far` uses the far limbs' overrides.

    >>> from fhir_rehab.program.poses import STAND
    >>> [round(v) for v in joints(STAND)["shoulder"]], round(joints(STAND)["ankle"][1])
    ([0, 46], -70)
    """

    def angle(name: str) -> float:
        value = pose.far.get(name, getattr(pose, name)) if far else getattr(pose, name)
        return float(value)

    hip = (0.0, 0.0)
    shoulder = _step(hip, pose.trunk, LENGTHS["trunk"])
    elbow = _step(shoulder, angle("arm"), LENGTHS["arm"])
    knee = _step(hip, angle("thigh"), LENGTHS["thigh"])
    ankle = _step(knee, angle("shin"), LENGTHS["shin"])
    return {
        "hip": hip,
        "shoulder": shoulder,
        "head": _step(shoulder, pose.head, HEAD_OFFSET),
        "elbow": elbow,
        "hand": _step(elbow, angle("forearm"), LENGTHS["forearm"]),
        "knee": knee,
        "ankle": ankle,
        "toe": _step(ankle, angle("foot"), LENGTHS["foot"]),
    }


def _lowest(pose: Pose) -> float:
    points = [*joints(pose).values(), *joints(pose, far=True).values()]
    head_bottom = joints(pose)["head"][1] - HEAD_R
    return min([p[1] for p in points] + [head_bottom])


class _Canvas:
    """Maps model coordinates (y up, floor at 0) onto the SVG viewBox (y down)."""

    def __init__(self, points: list[Point]) -> None:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        self.x0, self.y1 = min(xs) - HEAD_R, max(ys) + HEAD_R
        span_x, span_y = max(xs) + HEAD_R - self.x0, self.y1 - min(0.0, min(ys))
        self.scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / max(span_y, 1.0))
        self.dx = (WIDTH - span_x * self.scale) / 2

    def __call__(self, p: Point) -> Point:
        return self.dx + (p[0] - self.x0) * self.scale, MARGIN + (self.y1 - p[1]) * self.scale


def _line(a: Point, b: Point, colour: str, width: float, dash: bool = False, opacity: float = 1.0) -> str:
    extra = ' stroke-dasharray="3 2"' if dash else ""
    if opacity < 1:
        extra += f' stroke-opacity="{opacity}"'
    return (
        f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" stroke="{colour}" '
        f'stroke-width="{width:.1f}" stroke-linecap="round"{extra}/>'
    )


def _figure(pose: Pose, lift: float, canvas: _Canvas, colour: str, dash: bool) -> list[str]:
    out = []
    width = 2.6 if not dash else 1.8
    for far in (True, False):  # far limbs first, lighter, behind the body
        j = {k: canvas((v[0], v[1] + lift)) for k, v in joints(pose, far).items()}
        limbs = [
            ("shoulder", "elbow"),
            ("elbow", "hand"),
            ("hip", "knee"),
            ("knee", "ankle"),
            ("ankle", "toe"),
        ]
        for a, b in limbs:
            out.append(_line(j[a], j[b], colour, width, dash, 0.45 if far else 1.0))
        if not far:
            out.append(_line(j["hip"], j["shoulder"], colour, width + 0.6, dash))
            out.append(_line(j["shoulder"], j["head"], colour, width, dash))
            extra = ' stroke-dasharray="3 2"' if dash else ""
            out.append(
                f'<circle cx="{j["head"][0]:.1f}" cy="{j["head"][1]:.1f}" r="{HEAD_R * canvas.scale:.1f}" '
                f'fill="#ffffff" stroke="{colour}" stroke-width="{width:.1f}"{extra}/>'
            )
    return out


def _arrow(a: Point, b: Point) -> list[str]:
    """A curved arrow from a to b with a filled head (drawn as a polygon, not a marker)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    dist = math.hypot(dx, dy)
    if dist < 4:  # a hold or a squeeze: mark the spot instead
        return [
            f'<circle cx="{b[0]:.1f}" cy="{b[1]:.1f}" r="5" fill="none" stroke="{ARROW_COLOUR}" '
            'stroke-width="1.6"/>'
        ]
    bend = 0.25 * dist
    cx, cy = (a[0] + b[0]) / 2 - dy / dist * bend, (a[1] + b[1]) / 2 + dx / dist * bend
    angle = math.atan2(b[1] - cy, b[0] - cx)
    size = 5.0
    left = (b[0] - size * math.cos(angle - 0.45), b[1] - size * math.sin(angle - 0.45))
    right = (b[0] - size * math.cos(angle + 0.45), b[1] - size * math.sin(angle + 0.45))
    return [
        f'<path d="M{a[0]:.1f},{a[1]:.1f} Q{cx:.1f},{cy:.1f} {b[0]:.1f},{b[1]:.1f}" fill="none" '
        f'stroke="{ARROW_COLOUR}" stroke-width="1.6"/>',
        f'<polygon points="{b[0]:.1f},{b[1]:.1f} {left[0]:.1f},{left[1]:.1f} {right[0]:.1f},{right[1]:.1f}" '
        f'fill="{ARROW_COLOUR}"/>',
    ]


def _props(pair: PosePair, lift: dict[str, float], canvas: _Canvas) -> list[str]:
    out = []
    end = {k: canvas((v[0], v[1] + lift["end"])) for k, v in joints(pair.end).items()}
    start = {k: canvas((v[0], v[1] + lift["start"])) for k, v in joints(pair.start).items()}
    floor_y = canvas((0.0, 0.0))[1]
    if "chair" in (pair.start.base, pair.end.base):
        seat = start if pair.start.base == "chair" else end
        hip = seat["hip"]
        height = max(floor_y - hip[1] - 3, 2)
        out.append(
            f'<rect x="{hip[0] - 14:.1f}" y="{hip[1] + 3:.1f}" width="22" height="{height:.1f}" '
            'fill="none" stroke="#6b7785" stroke-width="1.4"/>'
        )
    if "step" in (pair.start.base, pair.end.base):
        out.append(
            f'<rect x="{end["toe"][0] + 2:.1f}" y="{floor_y - 10:.1f}" width="24" height="10" fill="#e5e9ee" '
            'stroke="#6b7785" stroke-width="1.2"/>'
        )
    if "strap" in pair.props:
        out.append(_line(end["hand"], end["toe"], "#0b5cad", 1.4))
    if "stick" in pair.props:
        out.append(_line(end["head"], end["hip"], "#8b5a2b", 2.0))
    if "bag" in pair.props or "box" in pair.props:
        h = end["hand"]
        out.append(
            f'<rect x="{h[0] - 5:.1f}" y="{h[1]:.1f}" width="10" height="9" fill="#fde68a" '
            'stroke="#92400e" stroke-width="1.2"/>'
        )
    if "bike" in pair.props:
        ankle = end["ankle"]
        cy, r = (ankle[1] + floor_y) / 2, (floor_y - ankle[1]) / 2 + 2
        out.append(
            f'<circle cx="{ankle[0]:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="none" '
            'stroke="#6b7785" stroke-width="1.4"/>'
        )
    return out


def render_pose_pair(pair: PosePair, label: str) -> str:
    """The SVG source for one pose pair (unescaped label is escaped here)."""
    lift = {"start": -_lowest(pair.start), "end": -_lowest(pair.end)}
    points = []
    for name, pose in (("start", pair.start), ("end", pair.end)):
        for far in (False, True):
            points += [(x, y + lift[name]) for x, y in joints(pose, far).values()]
    canvas = _Canvas([*points, (0.0, 0.0)])
    floor_y = canvas((0.0, 0.0))[1]
    parts = [
        f'<svg class="exercise-picture" role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH:.0f} '
        f'{HEIGHT:.0f}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<rect x="0" y="0" width="{WIDTH:.0f}" height="{HEIGHT:.0f}" fill="#ffffff"/>',
        _line((2.0, floor_y + 1.5), (WIDTH - 2, floor_y + 1.5), FLOOR_COLOUR, 1.5),
        *_props(pair, lift, canvas),
        *_figure(pair.start, lift["start"], canvas, START_COLOUR, dash=True),
        *_figure(pair.end, lift["end"], canvas, END_COLOUR, dash=False),
    ]
    moving = pair.moving
    a = joints(pair.start, pair.far_side)[moving]
    b = joints(pair.end, pair.far_side)[moving]
    parts += _arrow(canvas((a[0], a[1] + lift["start"])), canvas((b[0], b[1] + lift["end"])))
    parts.append("</svg>")
    return "".join(parts)


@lru_cache(maxsize=256)
def _cached(key: str, name: str) -> str:
    label = f"{name}: start position dashed, end position solid, the arrow shows the movement"
    return render_pose_pair(pose_for(key), label)


def exercise_picture(key: str, name: str) -> Markup:
    """Inline SVG for a library exercise (KeyError if the key has no pose)."""
    return Markup(_cached(key, name))  # noqa: S704 - built from numbers; the label is escaped
