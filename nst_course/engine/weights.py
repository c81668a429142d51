"""Where VGG-19's weights come from: the ``weights=`` choice, the download, the cache, files.

Weights (``weights=`` argument, else the ``NST_COURSE_WEIGHTS`` environment
variable, else ``"auto"``):

* ``"imagenet"``: torchvision's ``VGG19_Weights.IMAGENET1K_V1``, the paper's
  architecture trained on ImageNet (not the paper's own Caffe weights, see
  :mod:`nst_course.engine.vgg`), downloaded once (548 MB) into torch's cache and
  checked by its sha256 on every load.
* a path: a state dict saved with ``torch.save``; either a whole torchvision
  VGG-19 or only its ``features`` (for example a file written by
  ``nst-course weights export``, see :func:`export_weights`). Loaded with
  ``weights_only=True`` and mapped into memory (``mmap=True``): a float32 file's
  pages are the network's weights, shared by every kernel on a machine that reads
  the same file (a float16 file is converted, a private copy per process).
* ``"random"``: an untrained network, He-initialised from a seeded generator.
  Made once per seed into the cache folder (``$NST_COURSE_CACHE``, else
  ``~/.cache/nst-course``) and mapped from there like a file, so that the kernels
  of a class share one copy; made in memory if that folder cannot be written.
  Random networks still make recognisable textures and transfers when each
  layer's loss is normalised (He, Wang & Hopcroft 2016), which is what lets the
  lessons run offline; they are not the paper's network and are always named so.
* ``"auto"``: ImageNet if cached or downloadable, otherwise random with a warning
  that says how to get the real weights.

:func:`weights_variable` is the one reader of ``NST_COURSE_WEIGHTS``;
:func:`resolve_weights` turns a choice (or its absence) into the weights to use, and
:func:`load_features` into VGG-19's convolutional layers with a :class:`WeightsInfo`.
:func:`nst_course.engine.vgg.load_vgg19` builds the network from them.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from ..errors import NSTError
from ..media.files import atomic_write

__all__ = [
    "WEIGHTS_ENV",
    "WeightsInfo",
    "export_weights",
    "imagenet_cache_path",
    "imagenet_normalisation",
    "load_features",
    "random_features",
    "resolve_weights",
    "weights_variable",
]

WEIGHTS_ENV = "NST_COURSE_WEIGHTS"
# torchvision's VGG19_Weights.IMAGENET1K_V1: where the file is and how its images were normalised
# (written out so that loading a network never imports torchvision, some 80 MiB per process)
IMAGENET_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: VGG-19's convolutional part: convolutions per block, and their channels
BLOCKS = (2, 2, 4, 4, 4)
CHANNELS = (64, 128, 256, 512, 512)


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a network carries; printed and saved with every result."""

    kind: str  # "imagenet", "file" or "random"
    description: str
    pretrained: bool

    def __str__(self) -> str:
        return self.description


def imagenet_normalisation() -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """The mean and standard deviation (per RGB channel) the ImageNet weights were trained with."""
    return IMAGENET_MEAN, IMAGENET_STD


def imagenet_cache_path() -> Path:
    """Where torch keeps the ImageNet VGG-19 file once downloaded."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(IMAGENET_URL)


def _empty_features() -> nn.Sequential:
    """``torchvision.models.vgg19().features``: the same modules with the same state-dict keys, on the meta device.

    Built here so that a network loads without importing torchvision.
    """
    layers: list[nn.Module] = []
    channels = 3
    with torch.device("meta"):  # the architecture only; no memory, no random init
        for depth, width in zip(BLOCKS, CHANNELS, strict=True):
            for _ in range(depth):
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = width
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def random_features(seed: int) -> nn.Sequential:
    """VGG-19's convolutional layers, untrained: He-initialised from a generator seeded with ``seed``."""
    features = _empty_features().to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    for module in features:
        if isinstance(module, nn.Conv2d):
            # fan_in keeps every layer's activations on the same scale
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu", generator=generator)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return features


def random_weights_path(seed: int) -> Path:
    """The cache file of the untrained weights for ``seed`` (the torch version is in the name: its generator)."""
    from ..media.samples import cache_dir

    version = torch.__version__.replace("+", "-")
    return cache_dir() / f"vgg19-random-seed{seed}-torch{version}.pth"


def _shared_random_features(seed: int) -> nn.Sequential:
    """The untrained weights for ``seed``, mapped from their cache file (written first if missing).

    Every process that maps the file shares its pages; where the cache folder cannot be
    written (or the file cannot be read), the weights are made in this process's memory.
    """
    path = random_weights_path(seed)
    if not path.is_file():
        features = random_features(seed)
        try:
            atomic_write(path, lambda fh: torch.save(features.state_dict(), fh))
        except NSTError:
            return features
        del features
    try:
        return _features_from_state(_read_state(path), str(path))
    except NSTError:
        return random_features(seed)


def _read_state(path: Path):
    """``torch.load`` of a weights file, mapped into memory (not read into it) where the file's format allows."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # an old-format file cannot be mapped: read it whole (a bad file fails again, below)
        pass
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        raise NSTError(
            f"cannot read weights file {path}: not a file saved with torch.save ({type(exc).__name__}: {first})"
        ) from None


def _features_from_state(state: Mapping[str, torch.Tensor], source: str) -> nn.Sequential:
    if "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    feats = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise NSTError(
                f"{source} is not a VGG-19 state dict (it maps {type(key).__name__} to {type(value).__name__}, "
                "not layer names to tensors); use torchvision's vgg19 weights or an `nst-course weights export` file"
            )
        if key.startswith("classifier."):
            continue
        feats[key.removeprefix("features.")] = value
    features = _empty_features()
    expected = set(features.state_dict())
    if set(feats) != expected:
        missing = sorted(expected - set(feats))[:3]
        raise NSTError(
            f"{source} is not a VGG-19 state dict (missing e.g. {missing}); "
            "use torchvision's vgg19 weights or a file from `nst-course weights export`"
        )
    try:
        # assign: the loaded tensors become the weights, no copy (a mapped float32 file stays shared)
        features.load_state_dict({k: v.float() for k, v in feats.items()}, assign=True)
    except RuntimeError as exc:
        raise NSTError(f"{source} does not fit VGG-19: {str(exc).splitlines()[0]}") from None
    bad = [key for key, value in features.state_dict().items() if not torch.isfinite(value).all()]
    if bad:
        raise NSTError(
            f"{source} holds NaN or infinite numbers (in {', '.join(bad[:3])}): the file is damaged; "
            "export or download the weights again"
        )
    return features


def _load_file(path: Path) -> tuple[nn.Sequential, WeightsInfo]:
    if not path.is_file():
        raise NSTError(f"weights file {path} does not exist; give 'imagenet', 'random', 'auto' or a file path")
    try:
        digest = _sha256(path)[:12]
    except OSError as exc:
        raise NSTError(f"cannot read weights file {path} ({exc.strerror or exc})") from None
    state = _read_state(path)
    if not isinstance(state, Mapping):
        raise NSTError(f"{path} holds a {type(state).__name__}, not a state dict")
    features = _features_from_state(state, str(path))
    origin = state.get("source") if isinstance(state.get("source"), str) else None
    # only a file that says it is trained is called trained: unknown is not trained
    pretrained = state.get("pretrained") is True
    detail = f", exported from: {origin}" if origin else ""
    if "pretrained" not in state:
        detail += ", not known to be trained"
    return features, WeightsInfo("file", f"file {path.name} (sha256 {digest}{detail})", pretrained)


def _imagenet_sha256_prefix() -> str:
    """The start of the ImageNet file's sha256, as torchvision writes it in the file name (``vgg19-<hex>.pth``)."""
    name = os.path.basename(urllib.parse.urlparse(IMAGENET_URL).path)
    return name.rsplit("-", 1)[-1].split(".", 1)[0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_imagenet(progress: bool) -> Mapping[str, torch.Tensor]:
    """The ImageNet state dict: downloaded once into torch's cache, checked by its sha256, loaded without code.

    The cache file is checked on every load, not only after the download, and is read
    with ``weights_only=True``: a file put in its place runs nothing.
    """
    cache = imagenet_cache_path()
    prefix = _imagenet_sha256_prefix()
    if not cache.is_file():
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            # torch writes to a temporary name, checks the hash prefix and only then renames
            torch.hub.download_url_to_file(IMAGENET_URL, str(cache), prefix, progress=progress)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise NSTError(
                f"could not download the ImageNet VGG-19 weights into {cache.parent} ({reason}); "
                "copy a file from `nst-course weights export` and use --weights PATH, or --weights random"
            ) from None
        except RuntimeError as exc:  # torch's hash check of the fresh download
            raise NSTError(
                f"the downloaded ImageNet VGG-19 weights failed their sha256 check ({str(exc).splitlines()[0][:120]}); "
                "run `nst-course weights download` again"
            ) from None
    try:
        actual = _sha256(cache)
    except OSError as exc:
        raise NSTError(f"cannot read the ImageNet VGG-19 cache file {cache} ({exc.strerror or exc})") from None
    if not actual.startswith(prefix):
        raise NSTError(
            f"the ImageNet VGG-19 cache file {cache} is not the published file (its sha256 does not begin with "
            f"{prefix}): it is damaged, delete it and run `nst-course weights download` again"
        )
    try:  # mapped: only the convolutions' pages are ever read, not the 470 MB classifier
        state = torch.load(cache, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises many types for a bad file
        first = (str(exc).strip().splitlines() or [""])[0][:120]
        raise NSTError(
            f"could not load the ImageNet VGG-19 weights ({type(exc).__name__}: {first}); if {cache} is damaged, "
            "delete it and run `nst-course weights download` again"
        ) from None
    if not isinstance(state, Mapping):
        raise NSTError(f"{cache} holds a {type(state).__name__}, not a state dict: delete it and download it again")
    return state


def _network_reachable(url: str, timeout: float = 5.0) -> bool:
    try:
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def weights_variable() -> str | None:
    """``$NST_COURSE_WEIGHTS`` without surrounding spaces, or None when it is unset or blank.

    The one place that reads the environment variable: :func:`resolve_weights` (so the
    Python API, the widgets and every command) and ``nst-course weights info`` use it.
    """
    return os.environ.get(WEIGHTS_ENV, "").strip() or None


def resolve_weights(weights: str | os.PathLike | None = None) -> str:
    """The weights to use: ``weights`` if given, else ``$NST_COURSE_WEIGHTS``, else "auto".

    The variable is read by :func:`weights_variable`, so the Python API, the command
    line and the widgets all honour it.

    >>> resolve_weights("random")
    'random'
    """
    spec = os.fspath(weights) if weights is not None else weights_variable() or "auto"
    if spec in ("", "none"):
        raise NSTError("weights must be 'auto', 'imagenet', 'random' or a file path")
    return spec


def load_features(weights: str | os.PathLike | None, *, seed: int, progress: bool) -> tuple[nn.Sequential, WeightsInfo]:
    """VGG-19's convolutional layers with the chosen weights (see the module docstring), and what they are.

    ``seed`` only matters for random weights; ``progress`` shows the download's progress.
    """
    spec = resolve_weights(weights)
    if not (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**64):
        raise NSTError(f"seed must be a whole number from 0 to 2**64 - 1, not {seed!r}")
    state = None
    if spec == "auto":
        reason = "they are not cached and the download server cannot be reached"
        if imagenet_cache_path().is_file() or _network_reachable(IMAGENET_URL):
            try:
                state = _download_imagenet(progress)
            except NSTError as exc:
                reason = str(exc)
        if state is None:
            warnings.warn(
                f"the ImageNet VGG-19 weights could not be loaded ({reason}), so this network is UNTRAINED "
                "(random weights): results will differ from the paper. Get the real weights with "
                "`nst-course weights download` on a machine with a network, or copy a file from "
                "`nst-course weights export` and set NST_COURSE_WEIGHTS=/path/to/file.",
                stacklevel=3,  # the caller of load_vgg19
            )
        spec = "imagenet" if state is not None else "random"
    if spec == "imagenet":
        state = state if state is not None else _download_imagenet(progress)
        features = _features_from_state(state, "the ImageNet weights")
        info = WeightsInfo("imagenet", "imagenet (torchvision VGG19_Weights.IMAGENET1K_V1)", True)
    elif spec == "random":
        features = _shared_random_features(seed)
        info = WeightsInfo("random", f"random (untrained, seed {seed})", False)
    else:
        features, info = _load_file(Path(spec).expanduser())
    return features, info


class _Network(Protocol):
    """What :func:`export_weights` reads of a :class:`nst_course.engine.vgg.VGG19`."""

    layers: nn.Sequential
    weights: WeightsInfo


def export_weights(net: _Network, path: str | os.PathLike, *, half: bool = True, overwrite: bool = True) -> Path:
    """Write ``net``'s weights as a compact features-only file (float16 by default).

    A teacher runs this once on a machine with the ImageNet weights and copies
    the file (about 40 MB) to machines without a network. The keys are torchvision's
    (``0.weight`` for conv1_1): a layer's position in ``net.layers`` is its index in
    ``vgg19().features``.
    """
    path = Path(path).expanduser()
    position = {name: index for index, (name, _) in enumerate(net.layers.named_children())}
    state = {
        f"{position[name]}.{param}": tensor.detach().cpu().to(torch.float16 if half else torch.float32)
        for key, tensor in net.layers.state_dict().items()
        for name, param in [key.split(".")]
    }
    payload = {
        "format": "nst-course vgg19 features 1",
        "source": str(net.weights),
        "pretrained": net.weights.pretrained,
        "state_dict": state,
    }
    return atomic_write(path, lambda fh: torch.save(payload, fh), overwrite=overwrite)
