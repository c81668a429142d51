"""The paintings the lessons show, each with a caption that says honestly what it is.

:func:`fetch_painting` returns a :class:`LessonPainting`: the image, its caption
and whether it is the painting asked for or a built-in stand-in (offline, a
painting cannot be downloaded, and the lesson then says so under the picture).
:func:`load_painting` is the short form the lessons use: ``(image, caption)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import NSTError
from .images import load_image
from .samples import PAINTINGS, Painting, Sample, find_painting, find_sample, is_sample, sample_names

__all__ = ["EXTRA_PAINTINGS", "LessonPainting", "caption", "fetch_painting", "load_painting"]

#: Paintings the lessons use beyond the package's samples. Picasso's "Femme nue assise"
#: (Fig. 3 E) is not in the public domain; Juan Gris's portrait of Picasso takes its place.
EXTRA_PAINTINGS: dict[str, Painting] = {
    "portrait_of_picasso": Painting(
        "Portrait of Pablo Picasso",
        "Juan Gris",
        "1912",
        "Juan_Gris_-_Portrait_of_Pablo_Picasso_-_Google_Art_Project.jpg",
        "mosaic",
    ),
}


@dataclass(frozen=True)
class LessonPainting:
    """A picture for a lesson: the image (1, 3, H, W), its caption, and whether it is the real one."""

    image: torch.Tensor
    caption: str
    original: bool
    """False when the painting could not be had and its built-in stand-in is shown."""


def fetch_painting(name: str, *, size: int | None = None) -> LessonPainting:
    """A painting of the paper's Fig. 3 (or any built-in sample), with an honest caption.

    Offline, a painting is replaced by its built-in stand-in; the record says so
    (``original`` is False) and so does the caption.

    >>> town = fetch_painting("town", size=32)
    >>> town.caption, town.original, tuple(town.image.shape)
    ("'town' (built-in)", True, (1, 3, 22, 32))
    """
    if name in EXTRA_PAINTINGS:
        found = find_painting(name, EXTRA_PAINTINGS[name], progress=False)
    elif is_sample(name):
        found = find_sample(name)
    else:
        choices = [*PAINTINGS, *EXTRA_PAINTINGS, *(n for n in sample_names() if n not in PAINTINGS)]
        raise NSTError(f"no painting {name!r}; choose one of: {', '.join(choices)}")
    return LessonPainting(load_image(found.pixels, size=size), caption(found), original=not found.is_stand_in)


def load_painting(name: str, *, size: int | None = None) -> tuple[torch.Tensor, str]:
    """``(image, caption)`` of :func:`fetch_painting`: what the lessons unpack."""
    painting = fetch_painting(name, size=size)
    return painting.image, painting.caption


def caption(found: Sample) -> str:
    """What to write under a sample: the painting's title, or the stand-in's name and why.

    >>> caption(Sample("swirls", torch.zeros(1, 3, 8, 8), painting=PAINTINGS["starry_night"], missing="offline"))
    "'swirls' (built-in stand-in: The Starry Night is not downloaded)"
    """
    if found.painting is None:
        return f"'{found.name}' (built-in)"
    if found.is_stand_in:
        return f"'{found.name}' (built-in stand-in: {found.painting.title} is not downloaded)"
    return f"{found.painting.title}, {found.painting.artist} ({found.painting.year})"
