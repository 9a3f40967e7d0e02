"""A small SVG line chart (Python standard library only): overlaid series, linear or log-10 x axis,
horizontal reference rules, a legend. Used by bench/compare-federations.py for accuracy curves
(`ntk report` draws its charts inside one HTML page; this writes stand-alone .svg files).
"""

import math
from xml.sax.saxutils import escape

# Colour-blind-safe (Okabe–Ito), then greys.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"]


def nice_step(span, target_ticks=6):
    """A 1/2/5 × 10^k step giving about `target_ticks` ticks over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def linear_ticks(lo, hi, integer=False):
    step = nice_step(hi - lo)
    if integer:
        step = max(1, round(step))
    first = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], first
    while t <= hi + 1e-9 * max(1, abs(hi)):
        ticks.append(round(t, 10))
        t += step
    return ticks


def log_ticks(lo, hi):
    """Powers of ten in [lo, hi]; with fewer than 2, also 2× and 5× multiples."""
    ticks = [10.0 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1) if lo <= 10.0 ** k <= hi]
    if len(ticks) < 2:
        ticks = sorted(m * 10.0 ** k for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
                       for m in (1, 2, 5) if lo <= m * 10.0 ** k <= hi)
    return ticks


def tick_label(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        exponent = math.floor(math.log10(abs(v)))
        mantissa = v / 10 ** exponent
        return (f"{mantissa:g}×" if abs(mantissa - 1) > 1e-9 else "") + f"1e{exponent}"
    return f"{v:g}"


def line_chart(series, title, x_label, y_label, x_log=False, y_range=None, rules=(), integer_x=False,
               width=720, height=420):
    """SVG text of a line chart.

    series: [{"name", "points": [(x, y), ...], optional "color", "dashed"}]; points with a non-finite
    coordinate (or x ≤ 0 on a log axis) are skipped. rules: [(y, label)] drawn as dashed grey lines.
    y_range: (lo, hi) or None (from the data and rules).
    """
    left, right, top, bottom = 64, 190, 36, 52
    plot_w, plot_h = width - left - right, height - top - bottom

    def usable(x, y):
        return (x is not None and y is not None and math.isfinite(x) and math.isfinite(y) and (not x_log or x > 0))

    cleaned = [dict(s, points=[(x, y) for x, y in s["points"] if usable(x, y)]) for s in series]
    xs = [x for s in cleaned for x, _ in s["points"]]
    ys = [y for s in cleaned for _, y in s["points"]] + [y for y, _ in rules]
    if not xs:
        xs = [1.0, 10.0] if x_log else [0.0, 1.0]
    if not ys:
        ys = [0.0, 1.0]
    x_lo, x_hi = min(xs), max(xs)
    if x_log:
        if x_hi <= x_lo:
            x_lo, x_hi = x_lo / 2, x_hi * 2
        x_lo, x_hi = x_lo / 1.15, x_hi * 1.15
    elif x_hi <= x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    y_lo, y_hi = y_range if y_range else (min(ys), max(ys))
    if y_hi <= y_lo:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    if not y_range:
        pad = 0.04 * (y_hi - y_lo)
        y_lo, y_hi = y_lo - pad, y_hi + pad

    def fx(x):
        if x_log:
            return left + plot_w * (math.log10(x) - math.log10(x_lo)) / (math.log10(x_hi) - math.log10(x_lo))
        return left + plot_w * (x - x_lo) / (x_hi - x_lo)

    def fy(y):
        return top + plot_h * (1 - (y - y_lo) / (y_hi - y_lo))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left + plot_w / 2:.1f}" y="20" text-anchor="middle" font-size="14" font-weight="bold">{escape(title)}</text>']
    # Grid and ticks.
    x_ticks = log_ticks(x_lo, x_hi) if x_log else linear_ticks(x_lo, x_hi, integer=integer_x)
    for t in x_ticks:
        x = fx(t)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{escape(tick_label(t))}</text>')
    for t in linear_ticks(y_lo, y_hi):
        y = fy(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(tick_label(t))}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 12}" text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text transform="translate(16 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>')
    for y, label in rules:
        if y_lo <= y <= y_hi:
            out.append(f'<line x1="{left}" y1="{fy(y):.1f}" x2="{left + plot_w}" y2="{fy(y):.1f}" stroke="#888" '
                       'stroke-dasharray="6 4"/>')
            out.append(f'<text x="{left + plot_w - 4}" y="{fy(y) - 4:.1f}" text-anchor="end" fill="#666">{escape(label)}</text>')
    # Series (the extents hold every point, unless y_range cuts them: those are dropped).
    if y_range:
        cleaned = [dict(s, points=[(x, y) for x, y in s["points"] if y_lo <= y <= y_hi]) for s in cleaned]
    for i, s in enumerate(cleaned):
        color = s.get("color") or PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="5 3"' if s.get("dashed") else ""
        points = " ".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in s["points"])
        if len(s["points"]) > 1:
            out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.8"{dash}/>')
        for x, y in s["points"] if len(s["points"]) <= 60 else []:
            out.append(f'<circle cx="{fx(x):.1f}" cy="{fy(y):.1f}" r="2.5" fill="{color}"/>')
        # Legend entry.
        ly = top + 10 + 18 * i
        lx = left + plot_w + 14
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 22}" y2="{ly}" stroke="{color}" stroke-width="2.5"{dash}/>')
        out.append(f'<text x="{lx + 28}" y="{ly + 4}">{escape(s["name"])}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
