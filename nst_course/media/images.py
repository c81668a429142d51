"""Images in, images out: loading, colour modes, resizing and saving.

Inside the package an image is always a float tensor of shape (1, 3, H, W) with
values in [0, 1]. Everything that enters (a path, a URL, a built-in sample name,
a PIL image, a NumPy array) is turned into that; everything that leaves (a PNG
file, a picture in a notebook) is made from it. Introduced in lesson 00.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from ..errors import NSTError
from . import samples
from .files import atomic_write

__all__ = [
    "MAX_PIXELS",
    "ImageSource",
    "load_image",
    "pil_to_rgb",
    "read_metadata",
    "resize",
    "save_image",
    "to_pil",
    "to_tensor",
]

#: Anything :func:`load_image` accepts.
ImageSource = str | os.PathLike | Image.Image | np.ndarray | torch.Tensor

#: Images with more pixels than this are refused before they are decoded
#: (a "decompression bomb" guard: a tiny file can claim a gigantic size).
MAX_PIXELS = 64_000_000


def load_image(
    source: ImageSource,
    *,
    size: int | None = None,
    max_pixels: int = MAX_PIXELS,
) -> torch.Tensor:
    """Load an image as a (1, 3, H, W) float tensor in [0, 1].

    ``source`` may be a file path, an ``http(s)://`` URL, the name of a built-in
    sample (see :func:`nst_course.media.samples.sample_names`), a PIL image, a NumPy
    array (H, W), (H, W, 3) or (H, W, 4), or a tensor (3, H, W) / (1, 3, H, W).
    EXIF orientation is honoured and every Pillow mode becomes RGB.
    ``size`` resizes so that the longest side has that many pixels, keeping the
    aspect ratio (the authors' own code sets the *shorter* side to 512 px instead,
    so its 3:2 photos are 768 px wide). A painting that cannot be downloaded is replaced by its
    built-in stand-in, with a warning (``nst_course.load_painting`` says so in
    its caption instead).

    >>> load_image("town", size=64).shape
    torch.Size([1, 3, 44, 64])
    """
    if isinstance(source, torch.Tensor):
        image = _tensor_as_image(source)
    elif isinstance(source, np.ndarray):
        image = to_tensor(_array_to_pil(source))
    elif isinstance(source, Image.Image):
        image = to_tensor(pil_to_rgb(source))
    elif isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.startswith(("http://", "https://")):
            path = samples.download(text)
        elif Path(text).expanduser().exists():
            path = Path(text).expanduser()
        elif samples.is_sample(text):
            found = samples.find_sample(text)
            if found.is_stand_in:
                title = found.painting.title if found.painting is not None else text
                warnings.warn(
                    f"{title} is not available ({found.missing}); using the built-in '{found.name}' painting instead",
                    stacklevel=2,
                )
            return load_image(found.pixels, size=size, max_pixels=max_pixels)
        else:
            raise NSTError(
                f"no such image file: {text!r} (give a path, a URL or a built-in "
                f"sample: {', '.join(samples.sample_names())})"
            )
        picture, full = _open_for_size(path, size, max_pixels)
        image = to_tensor(picture)
        if size is not None:  # the shape the whole picture gives, whatever PIL shrank it to first
            return resize(image, _longest_side(full, size))
    else:
        raise NSTError(
            f"cannot make an image from a {type(source).__name__}: give a path, a PIL image, a NumPy array or a tensor"
        )
    return resize(image, size) if size is not None else image


def open_rgb(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open an image file as an upright RGB PIL image, with clear errors."""
    return _open_for_size(path, None, max_pixels)[0]


def _longest_side(shape: tuple[int, int], size: int) -> tuple[int, int]:
    height, width = shape
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _open_for_size(path: str | os.PathLike, size: int | None, max_pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    """The upright RGB picture in ``path`` and its full (H, W).

    With ``size``, PIL already shrinks it while decoding (JPEG draft) or right after
    (``reduce``) to no less than twice ``size``, so memory follows ``size``, not the file.
    Only regular files are opened: a FIFO or a device would block or never end.
    """
    path = Path(path)
    if path.is_dir():
        raise NSTError(f"{path} is a folder, not an image file")
    if not path.is_file():
        raise NSTError(f"{path} is not a regular file (a pipe or a device?); give an image file")
    if isinstance(size, int) and not isinstance(size, bool) and size < 8:
        raise NSTError(f"size must be at least 8 pixels, not {size}")
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise NSTError(
                    f"{path} is {width}x{height} pixels, more than the limit of "
                    f"{max_pixels:,}; shrink it first or raise max_pixels"
                )
            swapped = img.getexif().get(0x0112) in (5, 6, 7, 8)  # EXIF orientations that turn it a quarter
            full = (width, height) if swapped else (height, width)
            if size is not None and img.format == "JPEG":
                img.draft("RGB", (2 * size, 2 * size))
            img.load()
            picture = ImageOps.exif_transpose(img)  # before reducing: the copy would lose the EXIF tag
            factor = max(picture.size) // (2 * size) if size is not None else 1
            picture = picture.reduce(factor) if factor >= 2 and picture.mode in _REDUCIBLE else picture
            return pil_to_rgb(picture), full
    except Image.DecompressionBombError as exc:
        raise NSTError(f"{path} claims an enormous size and was refused ({exc})") from None
    except UnidentifiedImageError:
        raise NSTError(f"{path} is not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise NSTError(f"{path} could not be read as an image ({exc})") from None


_REDUCIBLE = ("L", "LA", "RGB", "RGBA", "RGBa", "La", "CMYK", "YCbCr", "I", "F")  # not "I;16": Pillow cannot reduce it


def pil_to_rgb(img: Image.Image) -> Image.Image:
    """Return ``img`` upright (EXIF orientation applied) in RGB mode.

    Transparent pixels are laid over white; 16-bit and float images are scaled
    to 8 bits by their range; palette, CMYK and other modes are converted.
    """
    img = ImageOps.exif_transpose(img)
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if img.mode.startswith("I") or img.mode == "F":
        return _array_to_pil(np.asarray(img))
    return img.convert("RGB")


def _array_to_pil(array: np.ndarray) -> Image.Image:
    """A 2-D or (H, W, 3|4) array of any numeric dtype as an RGB PIL image."""
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise NSTError(f"an image array must have shape (H, W), (H, W, 3) or (H, W, 4), not {arr.shape}")
    if arr.size == 0:
        raise NSTError(f"an image array must not be empty, not of shape {arr.shape}")
    if arr.dtype == np.uint8:
        scaled = arr.astype(np.float32) / 255.0
    elif np.issubdtype(arr.dtype, np.integer):
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        scaled = arr.astype(np.float32) / top
    elif np.issubdtype(arr.dtype, np.floating) or arr.dtype == bool:
        scaled = arr.astype(np.float32)
        if not np.isfinite(scaled).all():
            raise NSTError("the image array holds NaN or infinite values; give pixels in [0, 1] or 0 to 255")
        top = float(scaled.max())
        if top > 1.0:  # not a [0, 1] image: scale 8- or 16-bit style values
            scaled = scaled / (255.0 if top <= 255.0 else 65535.0 if top <= 65535.0 else top)
    else:
        raise NSTError(f"cannot make an image from an array of dtype {arr.dtype}")
    scaled = np.clip(scaled, 0.0, 1.0)
    if scaled.ndim == 2:
        scaled = np.repeat(scaled[..., None], 3, axis=-1)
    elif scaled.shape[-1] == 4:  # lay transparent pixels over white
        alpha = scaled[..., 3:]
        scaled = scaled[..., :3] * alpha + (1.0 - alpha)
    return Image.fromarray(np.round(scaled * 255.0).astype(np.uint8), mode="RGB")


def _tensor_as_image(tensor: torch.Tensor) -> torch.Tensor:
    """A (1, 3, H, W) float tensor in [0, 1]; integer tensors are scaled (uint8 by 255), not clamped."""
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 4 or tensor.shape[:2] != (1, 3) or tensor.numel() == 0:
        raise NSTError(f"an image tensor must have shape (3, H, W) or (1, 3, H, W), not {tuple(tensor.shape)}")
    tensor = tensor.detach()
    if tensor.is_complex():
        raise NSTError("an image tensor must hold real numbers, not complex ones")
    if tensor.dtype == torch.bool:
        return tensor.float()
    if not tensor.is_floating_point():
        top = 255.0 if tensor.dtype == torch.uint8 or int(tensor.max()) <= 255 else 65535.0
        return (tensor.float() / top).clamp(0.0, 1.0)
    tensor = tensor.float()
    if not torch.isfinite(tensor).all():
        raise NSTError("the image tensor holds NaN or infinite values; give pixels in [0, 1]")
    return tensor.clamp(0.0, 1.0)


def to_tensor(img: Image.Image) -> torch.Tensor:
    """An RGB PIL image as a (1, 3, H, W) float tensor in [0, 1]."""
    arr = np.asarray(pil_to_rgb(img), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_pil(image: torch.Tensor) -> Image.Image:
    """A (1, 3, H, W) or (3, H, W) tensor in [0, 1] as an RGB PIL image."""
    image = _tensor_as_image(image)[0]
    arr = (image.permute(1, 2, 0).cpu().numpy() * 255.0).round().astype(np.uint8)
    return Image.fromarray(arr, mode="RGB")


def resize(image: torch.Tensor, size: int | Sequence[int]) -> torch.Tensor:
    """Resize a (1, 3, H, W) tensor.

    An ``int`` is the new longest side (aspect ratio kept); a pair (a tuple, a ``torch.Size``) is (H, W).
    Downscaling is antialiased so that fine strokes do not alias.
    """
    if not isinstance(image, torch.Tensor) or image.ndim < 2 or image.numel() == 0:
        raise NSTError(f"resize needs an image tensor with pixels, not {getattr(image, 'shape', type(image).__name__)}")
    height, width = image.shape[-2:]
    if isinstance(size, int):
        if size < 8:
            raise NSTError(f"size must be at least 8 pixels, not {size}")
        scale = size / max(height, width)
        new = (max(1, round(height * scale)), max(1, round(width * scale)))
    else:
        new = (int(size[0]), int(size[1]))
        if min(new) < 1:
            raise NSTError(f"an image needs at least 1 pixel each way, not a size of {new}")
    if new == (height, width):
        return image
    out = F.interpolate(image, size=new, mode="bilinear", align_corners=False, antialias=True)
    return out.clamp(0.0, 1.0)


def save_image(
    image: torch.Tensor,
    path: str | os.PathLike,
    *,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = True,
) -> Path:
    """Save ``image`` as a PNG, atomically, with ``metadata`` as PNG text.

    With ``overwrite=False`` an existing file (even one made meanwhile by
    another run) is never replaced: an :class:`NSTError` says so.

    The file is written through :func:`nst_course.media.files.atomic_write`, so an
    interrupted save never leaves half a picture behind, and it gets the same
    permissions as any other new file of the user's. Metadata values that are
    not strings are stored as JSON; read them back with :func:`read_metadata`.
    """
    path = Path(path).expanduser()
    if path.suffix.lower() != ".png":
        raise NSTError(f"results are saved as PNG: name the file *.png, not {path.name!r}")
    info = PngImagePlugin.PngInfo()
    for key, value in (metadata or {}).items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        info.add_itxt(str(key), text)
    picture = to_pil(image)
    return atomic_write(path, lambda fh: picture.save(fh, format="PNG", pnginfo=info), overwrite=overwrite)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The PNG text saved by :func:`save_image`, JSON values decoded."""
    with Image.open(path) as img:
        text = dict(getattr(img, "text", {}))
    out: dict[str, Any] = {}
    for key, value in text.items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
