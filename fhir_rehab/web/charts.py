"""Server-side SVG charts the app draws itself (no CDN, no third-party files)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from fhir_rehab.program.progression import Score

# Text is 18 units on a 560-unit-wide chart: at least 11 px when a 390 px phone shows it ~360 px wide.
WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 560, 220, 40, 12, 14, 34
FONT = 18


def pain_chart_svg(
    scores: Sequence[Score], title: str = "Pain score trend (0-10)", threshold: int | None = None
) -> Markup:
    """A line chart of pain scores over time, with a text alternative for screen readers;
    `threshold` (the stage's pain target) is drawn as a dashed line.

    >>> "No pain scores" in pain_chart_svg([])
    True
    """
    if not scores:
        return Markup('<p class="chart-empty">No pain scores recorded yet.</p>')  # noqa: S704 - constant
    ordered = sorted(scores, key=lambda s: s.when)
    first, last = ordered[0].when, ordered[-1].when
    span = max((last - first).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def x(score: Score) -> float:
        if len(ordered) == 1:
            return PAD_L + plot_w / 2
        return PAD_L + plot_w * (score.when - first).total_seconds() / span

    def y(value: int) -> float:
        return PAD_T + plot_h * (10 - value) / 10

    summary = ", ".join(
        f"{s.when:%d %b}: {s.value}{' (patient)' if s.by_patient else ''}" for s in ordered[-12:]
    )
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="pain-title pain-desc" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="pain-title">{escape(title)}</title>',
        f'<desc id="pain-desc">{len(ordered)} scores. {escape(summary)}</desc>',
    ]
    for value in (0, 2, 4, 6, 8, 10):
        parts.append(
            f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}" stroke="#d5dbe1" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{PAD_L - 8}" y="{y(value) + 6:.1f}" font-size="{FONT}" '
            f'text-anchor="end" fill="#555f6b">{value}</text>'
        )
    if threshold is not None:
        parts.append(
            f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" '
            'stroke="#a4161a" stroke-width="2" stroke-dasharray="6 4"/>'
        )
        parts.append(
            f'<text x="{WIDTH - PAD_R}" y="{y(threshold) - 4:.1f}" font-size="{FONT}" text-anchor="end" '
            f'fill="#a4161a">stage target: {threshold} or less</text>'
        )
        parts[2] = parts[2].replace("</desc>", f" Stage target: {threshold} or less.</desc>")
    points = " ".join(f"{x(s):.1f},{y(s.value):.1f}" for s in ordered)
    parts.append(f'<polyline points="{points}" fill="none" stroke="#0b5cad" stroke-width="2"/>')
    for s in ordered:
        # Clinic scores are filled circles; the patient's own reports are hollow diamonds
        # (a shape, not only a colour, tells them apart), each with its source in words.
        label = escape(
            f"{s.when:%d %b %Y %H:%M}: {s.value}/10, "
            + ("reported by the patient" if s.by_patient else "recorded in clinic")
        )
        if s.by_patient:
            cx, cy = x(s), y(s.value)
            parts.append(
                f'<polygon class="by-patient" points="{cx:.1f},{cy - 6:.1f} {cx + 6:.1f},{cy:.1f} '
                f'{cx:.1f},{cy + 6:.1f} {cx - 6:.1f},{cy:.1f}" fill="#fff" stroke="#8a4b00" '
                f'stroke-width="2"><title>{label}</title></polygon>'
            )
        else:
            parts.append(
                f'<circle class="in-clinic" cx="{x(s):.1f}" cy="{y(s.value):.1f}" r="4" fill="#0b5cad">'
                f"<title>{label}</title></circle>"
            )
    labels = [(ordered[0], "start" if len(ordered) > 1 else "middle")]
    if x(ordered[-1]) - x(ordered[0]) > 300:  # room for a second date-and-time label
        labels.append((ordered[-1], "end"))
    for s, anchor in labels:
        parts.append(
            f'<text x="{x(s):.1f}" y="{HEIGHT - 8}" font-size="{FONT}" text-anchor="{anchor}" '
            f'fill="#555f6b">{s.when:%d %b %H:%M}</text>'
        )
    parts.append("</svg>")
    if any(s.by_patient for s in ordered):
        parts.append(
            '<p class="chart-legend"><span aria-hidden="true">&#9679;</span> recorded in clinic '
            '<span aria-hidden="true">&#9671;</span> reported by the patient</p>'
        )
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
