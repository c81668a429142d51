"""What the subcommands' parsers share: one-line usage errors, comma-separated values, the examples.

Standard library only: the classroom commands' parsers are built from it without torch.

>>> csv_list(" relu1_1, relu2_1,")
('relu1_1', 'relu2_1')
>>> floats("0.7,0.3"), ints("128,256")
((0.7, 0.3), (128, 256))
"""

from __future__ import annotations

import argparse
from typing import NoReturn

__all__ = ["EXAMPLES", "Parser", "csv_list", "floats", "ints"]

#: The top-level help's epilog; its first paragraph also ends each optimising command's help.
#: ``{samples}`` and ``{paintings}`` are filled with the built-in images' names.
EXAMPLES = """\
examples:
  nst-course transfer town swirls -o town-swirls.png
  nst-course transfer photo.jpg starry_night -o out.png --size 384 --steps 300
  nst-course transfer town swirls --preserve-colour luminance -o town-own-colours.png
  nst-course transfer town swirls waves --style-blend 0.7,0.3 -o town-blend.png
  nst-course reconstruct hopper --layer relu2_2 -o hopper-relu2_2.png
  nst-course texture mosaic --layers relu1_1,relu2_1,relu3_1 -o texture.png
  nst-course figure 4 --out figures      (the paper's Fig. 4; 3 to 7 or all)
  nst-course atlas relu3_1 -o atlas.png  (what each channel looks for; or all)
  nst-course weights info
  nst-course weights export vgg19-features.pth     (copy it to offline machines)
  NST_COURSE_WEIGHTS=vgg19-features.pth nst-course transfer town waves -o out.png

built-in images: {samples} (offline);
  {paintings} (downloaded once).
weights: auto (default: imagenet if cached or downloadable, else random with a
warning), imagenet, random (untrained), or a file path; $NST_COURSE_WEIGHTS sets
the default for a whole session. Results are PNGs whose metadata records the
settings, seed, versions and weights.
"""


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, then exit status 2, like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def csv_list(text: str) -> tuple[str, ...]:
    """The comma-separated names in ``text``, without spaces or empty parts."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def floats(text: str) -> tuple[float, ...]:
    """Comma-separated numbers, or argparse's one-line refusal."""
    try:
        return tuple(float(part) for part in csv_list(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, not {text!r}") from None


def ints(text: str) -> tuple[int, ...]:
    """Comma-separated whole numbers, or argparse's one-line refusal."""
    try:
        return tuple(int(part) for part in csv_list(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, not {text!r}") from None
