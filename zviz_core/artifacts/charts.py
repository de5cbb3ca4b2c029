"""Small PNG charts drawn with Pillow, so that numpy visualizations need no plotting library."""

from __future__ import annotations

import io
from typing import Any

WIDTH, HEIGHT, MARGIN = 640, 360, 48
BAR = (59, 130, 246)
AXIS = (71, 85, 105)


def _label(value: float) -> str:
    return f"{value:.3g}"


def histogram_png(values: Any, bins: int = 30) -> bytes:
    """A histogram of the finite values of a 1-D numeric array, as PNG bytes."""
    import numpy as np
    from PIL import Image, ImageDraw

    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = MARGIN, 16, WIDTH - 16, HEIGHT - MARGIN
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=AXIS, width=1)
    if data.size == 0:
        draw.text((left + 10, top + 10), "no finite values", fill=AXIS)
    else:
        counts, edges = np.histogram(data, bins=min(bins, max(1, int(np.unique(data).size))))
        peak = max(int(counts.max()), 1)
        span = (right - left) / len(counts)
        for i, count in enumerate(counts):
            if count == 0:
                continue
            x0 = left + i * span + 1
            # At least one pixel tall: Pillow refuses a rectangle whose bottom is above its top.
            y0 = min(bottom - (bottom - top) * count / peak, bottom - 2)
            draw.rectangle([x0, y0, x0 + max(span - 2, 1), bottom - 1], fill=BAR)
        draw.text((left, bottom + 6), _label(edges[0]), fill=AXIS)
        end = _label(edges[-1])
        draw.text((right - 7 * len(end), bottom + 6), end, fill=AXIS)
        draw.text((4, top), str(peak), fill=AXIS)
        draw.text((left, HEIGHT - 18), f"n = {data.size}", fill=AXIS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
