"""A model that is not a detector: a frame's mean colour. For tests of how such a result is answered.

``mean_colour`` returns its output at the top of the result, which the protocol's answer cannot
carry (refused: ERR_HANDLER_FAILED naming the keys); ``mean_colour_in_metadata`` puts it where it
belongs, in ``metadata`` beside no detections; ``forgot_return`` returns None.
"""

from __future__ import annotations

from typing import Any

from framesupplier import Frame


def _mean(frame: Frame) -> list[float]:
    rgb = frame.to_rgb()
    return [float(v) for v in rgb.reshape(-1, 3).mean(axis=0)]


def mean_colour(frame: Frame) -> dict[str, Any]:
    return {"mean_rgb": _mean(frame), "score": 0.4}


def mean_colour_in_metadata(frame: Frame) -> dict[str, Any]:
    import numpy as np

    return {"detections": [], "metadata": {"mean_rgb": np.array(_mean(frame)), "score": np.float32(0.4)}}


def forgot_return(frame: Frame) -> None:
    _mean(frame)


def loaded() -> Any:
    """A factory: what ``python -m framesupplier.serve colour_model:loaded()`` serves."""
    return mean_colour_in_metadata
