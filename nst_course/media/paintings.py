"""The paintings the lessons show, each with a caption that says honestly what it is.

:func:`load_painting` is the lessons' one getter: ``(image, caption)``. The list of
paintings is :data:`nst_course.media.samples.PAINTINGS`; offline, a painting is
replaced by its built-in stand-in, and the caption says so (no warning is needed).
"""

from __future__ import annotations

import torch

from ..errors import NSTError
from .images import load_image
from .samples import PAINTINGS, find_sample, is_sample, sample_names

__all__ = ["load_painting"]


def load_painting(name: str, *, size: int | None = None) -> tuple[torch.Tensor, str]:
    """A painting of :data:`~nst_course.media.samples.PAINTINGS` (or any built-in sample) and its caption.

    ``size`` is the longest side in px (None: the image's own size). The caption is the
    painting's title, or, offline, its stand-in's name and why.

    >>> image, caption = load_painting("town", size=32)
    >>> caption, tuple(image.shape)
    ("'town' (built-in)", (1, 3, 22, 32))
    """
    if not is_sample(name):
        choices = [*PAINTINGS, *(n for n in sample_names() if n not in PAINTINGS)]
        raise NSTError(f"no painting {name!r}; choose one of: {', '.join(choices)}")
    found = find_sample(name)
    return load_image(found.pixels, size=size), found.caption
