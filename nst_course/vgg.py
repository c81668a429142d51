"""VGG-19 with the paper's layer names, and where its weights come from.

Learners write ``"relu4_2"``, never ``features[22]``: :data:`LAYER_NAMES` names
every layer (conv1_1 ... conv5_4, relu1_1 ... relu5_4, pool1 ... pool5) in the
order of torchvision's ``vgg19().features``. ``convB_D`` is a convolution's output
before its ReLU, ``reluB_D`` after it; what the paper calls conv4_2 is relu4_2 here
(see :data:`CONTENT_LAYER` and docs/layer-names.md). Introduced in lesson 00.

Weights (``weights=`` argument, else the ``NST_COURSE_WEIGHTS`` environment
variable, else ``"auto"``):

* ``"imagenet"``: torchvision's ``VGG19_Weights.IMAGENET1K_V1``, the paper's
  architecture trained on ImageNet (not the paper's own Caffe weights, see below),
  downloaded once (548 MB) into torch's cache.
* a path: a state dict saved with ``torch.save``; either a whole torchvision
  VGG-19 or only its ``features`` (for example a file written by
  ``nst-course weights export``). Loaded with ``weights_only=True`` and mapped
  into memory (``mmap=True``): a float32 file's pages are the network's weights,
  shared by every kernel on a machine that reads the same file (a float16 file
  is converted, a private copy per process).
* ``"random"``: an untrained network, He-initialised from a seeded generator.
  Made once per seed into the cache folder (``$NST_COURSE_CACHE``, else
  ``~/.cache/nst-course``) and mapped from there like a file, so that the kernels
  of a class share one copy; made in memory if that folder cannot be written.
  Random networks still make recognisable textures and transfers when each
  layer's loss is normalised (He, Wang & Hopcroft 2016), which is what lets the
  lessons run offline; they are not the paper's network and are always named so.
* ``"auto"``: ImageNet if cached or downloadable, otherwise random with a warning
  that says how to get the real weights.

Not the paper's network. The paper (and the authors' own code) used Caffe's VGG-19,
which reads BGR images on a 0-255 scale with the ImageNet mean subtracted and no
division by a standard deviation; the paper's copy was also rescaled so that each
filter's mean activation over ImageNet is 1 (Sec. 2). This package uses
torchvision's VGG-19, trained on RGB images in [0, 1] normalised with the ImageNet
mean *and* standard deviation, which :class:`VGG19` does inside. Same architecture,
different weights and different activation scales: a loss weight tuned on one does
not carry over to the other.

Pooling: ``pooling="avg"`` (the default) is the paper's choice (Sec. 2, "slightly
more appealing results"); the authors' published code and the PyTorch tutorial
max-pool (``pooling="max"``). :func:`with_pooling` gives the same weights with the
other pooling.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .devices import get_device
from .errors import NSTError
from .files import atomic_write

__all__ = [
    "CONTENT_LAYER",
    "LAYER_NAMES",
    "STYLE_LAYERS",
    "VGG19",
    "WEIGHTS_ENV",
    "WeightsInfo",
    "describe_layers",
    "export_weights",
    "imagenet_cache_path",
    "load_vgg19",
    "resolve_weights",
    "with_pooling",
]

WEIGHTS_ENV = "NST_COURSE_WEIGHTS"
# torchvision's VGG19_Weights.IMAGENET1K_V1: where the file is and how its images were normalised
# (written out so that loading a network never imports torchvision, some 80 MiB per process)
IMAGENET_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_BLOCKS = (2, 2, 4, 4, 4)  # convolutions per block in VGG-19
_CHANNELS = (64, 128, 256, 512, 512)

# The paper's layer names are those of its software, Caffe, where every ReLU works in place:
# the blob the paper calls "conv4_2" holds the convolution's output *after* rectification.
# In this package's names (torchvision's order) that is relu4_2; conv4_2 here is the output
# before the ReLU, with negative values. Eq. (2) of the paper (the gradient is zero where
# F < 0) only makes sense for rectified features, and the authors' own code reads r42,
# r11 ... r51. So the defaults are the relu layers; the conv layers stay selectable.

#: The paper's content layer, "conv4_2" in its text: the rectified output, relu4_2 here (Sec. 3).
CONTENT_LAYER = "relu4_2"
#: The paper's style layers, "conv1_1" ... "conv5_1" in its text, rectified: relu1_1 ... relu5_1,
#: each weighted 1/5 (Sec. 3).
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _names() -> tuple[str, ...]:
    names: list[str] = []
    for block, depth in enumerate(_BLOCKS, start=1):
        for i in range(1, depth + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


#: Every layer of VGG-19's convolutional part, in order, by its paper name;
#: position i is ``torchvision.models.vgg19().features[i]``.
LAYER_NAMES: tuple[str, ...] = _names()


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a network carries; printed and saved with every result."""

    kind: str  # "imagenet", "file" or "random"
    description: str
    pretrained: bool

    def __str__(self) -> str:
        return self.description


class VGG19(nn.Module):
    """VGG-19's convolutional layers, named as in the paper, frozen, in eval mode.

    ``net(image, ["relu4_2", "relu1_1"])`` returns ``{"relu4_2": ..., "relu1_1": ...}``
    for a (B, 3, H, W) image in [0, 1]; the ImageNet normalisation happens inside,
    and the network only runs up to the deepest requested layer.
    """

    def __init__(
        self,
        features: nn.Sequential,
        *,
        weights: WeightsInfo,
        pooling: str = "avg",
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        if pooling not in ("avg", "max"):
            raise NSTError(f"pooling must be 'avg' or 'max', not {pooling!r}")
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for name, module in zip(LAYER_NAMES, features, strict=True):
            if isinstance(module, nn.ReLU):
                module = nn.ReLU(inplace=False)  # an in-place ReLU would overwrite a returned conv output
            elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
                module = nn.AvgPool2d(2, 2) if pooling == "avg" else nn.MaxPool2d(2, 2)
            layers[name] = module
        self.layers = nn.Sequential(layers)
        self.weights = weights
        self.pooling = pooling
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = check_layers(layers)
        deepest = max(LAYER_NAMES.index(name) for name in wanted)
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[1] != 3:
            raise NSTError(f"the network takes a (B, 3, H, W) image tensor, not {getattr(image, 'shape', image)!r}")
        halvings = sum(name.startswith("pool") for name in LAYER_NAMES[:deepest])
        if min(image.shape[-2:]) < 2**halvings:
            height, width = image.shape[-2:]
            raise NSTError(
                f"a {width}x{height} image is too small for {LAYER_NAMES[deepest]} (it is halved {halvings} times "
                f"before it): use at least {2**halvings} px on the short side, or a shallower layer"
            )
        x = (image - self.mean.to(image.dtype)) / self.std.to(image.dtype)
        out: dict[str, torch.Tensor] = {}
        for name, module in list(self.layers.named_children())[: deepest + 1]:
            x = module(x)
            if name in wanted:
                out[name] = x
        return out

    @property
    def device(self) -> torch.device:
        """Where this network's weights live: THE device its inputs must be on."""
        return self.mean.device

    def describe(self) -> dict[str, object]:
        """What a result records about the network that made it."""
        return {
            "weights": str(self.weights),
            "kind": self.weights.kind,
            "pretrained": self.weights.pretrained,
            "pooling": self.pooling,
        }

    def extra_repr(self) -> str:
        return f"weights={self.weights}, pooling={self.pooling!r}"


def with_pooling(net: VGG19, pooling: str) -> VGG19:
    """``net`` itself if it already pools that way, else a network sharing its weights that pools with ``pooling``.

    >>> avg = VGG19(_random_features(0), weights=WeightsInfo("random", "random", False))
    >>> with_pooling(avg, "max").pooling, with_pooling(avg, "avg") is avg
    ('max', True)
    """
    if pooling == net.pooling:
        return net
    mean, std = (tuple(buffer.flatten().tolist()) for buffer in (net.mean, net.std))
    twin = VGG19(net.layers, weights=net.weights, pooling=pooling, mean=mean, std=std)
    return twin.to(net.device)


def check_layers(layers: Iterable[str]) -> list[str]:
    """``layers`` as a list, or an :class:`NSTError` that lists the valid names."""
    if isinstance(layers, str):
        layers = [layers]
    try:
        layers = list(layers)
    except TypeError:
        raise NSTError(f"layers must be a list of names such as relu4_2, not {layers!r}") from None
    if not layers:
        raise NSTError("no layers given: name at least one, e.g. relu4_2")
    unknown = [name for name in layers if not isinstance(name, str) or name not in LAYER_NAMES]
    if unknown:
        raise NSTError(f"unknown layer {', '.join(map(repr, unknown))}; valid names: {', '.join(LAYER_NAMES)}")
    return layers


def _imagenet_normalisation() -> tuple[tuple[float, ...], tuple[float, ...]]:
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
        for depth, width in zip(_BLOCKS, _CHANNELS, strict=True):
            for _ in range(depth):
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = width
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def _random_features(seed: int) -> nn.Sequential:
    features = _empty_features().to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    for module in features:
        if isinstance(module, nn.Conv2d):
            # fan_in keeps every layer's activations on the same scale
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu", generator=generator)
            nn.init.zeros_(module.bias)
    return features


def random_weights_path(seed: int) -> Path:
    """The cache file of the untrained weights for ``seed`` (the torch version is in the name: its generator)."""
    from .samples import cache_dir

    version = torch.__version__.replace("+", "-")
    return cache_dir() / f"vgg19-random-seed{seed}-torch{version}.pth"


def _shared_random_features(seed: int) -> nn.Sequential:
    """The untrained weights for ``seed``, mapped from their cache file (written first if missing).

    Every process that maps the file shares its pages; where the cache folder cannot be
    written (or the file cannot be read), the weights are made in this process's memory.
    """
    path = random_weights_path(seed)
    if not path.is_file():
        features = _random_features(seed)
        try:
            atomic_write(path, lambda fh: torch.save(features.state_dict(), fh))
        except NSTError:
            return features
        del features
    try:
        return _features_from_state(_read_state(path), str(path))
    except NSTError:
        return _random_features(seed)


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


def _download_imagenet(progress: bool) -> dict[str, torch.Tensor]:
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


def resolve_weights(weights: str | os.PathLike | None = None) -> str:
    """The weights to use: ``weights`` if given, else ``$NST_COURSE_WEIGHTS``, else "auto".

    The one place that reads the environment variable, so the Python API, the
    command line and the widgets all honour it.

    >>> resolve_weights("random")
    'random'
    """
    spec = os.fspath(weights) if weights is not None else os.environ.get(WEIGHTS_ENV, "").strip() or "auto"
    if spec in ("", "none"):
        raise NSTError("weights must be 'auto', 'imagenet', 'random' or a file path")
    return spec


def load_vgg19(
    *,
    weights: str | os.PathLike | None = None,
    pooling: str = "avg",
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
) -> VGG19:
    """The VGG-19 feature network with the chosen weights, frozen, on ``device``.

    ``weights`` is "imagenet", "random", "auto" or a file path (see the module
    docstring); ``None`` reads ``$NST_COURSE_WEIGHTS`` and falls back to "auto".
    ``seed`` only matters for random weights. The choice is printed in
    ``net.weights`` and recorded in every saved result.
    """
    spec = resolve_weights(weights)
    if not (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**64):
        raise NSTError(f"seed must be a whole number from 0 to 2**64 - 1, not {seed!r}")
    mean, std = _imagenet_normalisation()
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
                stacklevel=2,
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
    net = VGG19(features, weights=info, pooling=pooling, mean=mean, std=std)
    return net.to(get_device(device))


def export_weights(net: VGG19, path: str | os.PathLike, *, half: bool = True, overwrite: bool = True) -> Path:
    """Write ``net``'s weights as a compact features-only file (float16 by default).

    A teacher runs this once on a machine with the ImageNet weights and copies
    the file (about 40 MB) to machines without a network.
    """
    path = Path(path).expanduser()
    state = {
        f"{LAYER_NAMES.index(name)}.{param}": tensor.detach().cpu().to(torch.float16 if half else torch.float32)
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


def describe_layers(size: tuple[int, int] = (224, 224)) -> list[dict[str, object]]:
    """One row per layer: name, type, channels, output height and width, receptive field.

    The receptive field is how many input pixels across one output value can see.

    >>> describe_layers((64, 64))[4]
    {'layer': 'pool1', 'type': 'pool', 'channels': 64, 'height': 32, 'width': 32, 'receptive_field': 6}
    """
    height, width = size
    rows: list[dict[str, object]] = []
    field, jump, channels = 1, 1, 3
    for name in LAYER_NAMES:
        kind = name.rstrip("0123456789_")
        block = int(name[len(kind)])
        if kind == "conv":
            channels = _CHANNELS[block - 1]
            field += 2 * jump
        elif kind == "pool":
            field += jump
            jump *= 2
            height, width = height // 2, width // 2
        rows.append(
            {
                "layer": name,
                "type": kind,
                "channels": channels,
                "height": height,
                "width": width,
                "receptive_field": field,
            }
        )
    return rows
