"""The losses of neural style transfer, as pure functions.

Shapes: features are (B, C, H, W) tensors from one layer; Gram matrices are
(B, C, C). Each loss returns a scalar tensor and never changes its inputs.

Normalisation (``normalization=``):

* ``"relative"`` (default): the squared error divided by the target's squared
  norm (the sum of its squared entries): each layer's loss is its error as a
  fraction of its target (0 when the features match, 1 when they are all zero),
  whatever the layer's scale.
  This is what makes untrained networks work (He, Wang & Hopcroft 2016) and
  lets one set of weights serve trained and untrained networks alike.
* ``"paper"``: Gatys et al. 2016, eq. (1) and (4): 1/2 sum (F - P)^2 for content,
  1/(4 N^2 M^2) sum (G - A)^2 for style (N channels, M positions). For a batch of
  several images both sums run over the batch too; pystiche's replication of the
  paper averages its style loss over the batch instead (the same for one image).
* ``"mean"``: the mean squared error, of the features and of the Gram matrices
  divided by M. It is what the authors' own code computes (``nn.MSELoss``): with
  beta = 1e3 and layer weights 1/N_l^2 this package reproduces their objective
  exactly (``nst_course.engine.settings.AUTHORS_CODE_OBJECTIVE``, on a max-pooling network).

The paper's alpha/beta ratios (1e-3 and so on) belong to ``"paper"``
normalisation on the paper's rescaled network; with ``"relative"`` each weight
multiplies a relative error, so beta = 3 prices a style error at three times a
content error of the same relative size (where the balance settles still depends
on the images).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..errors import NSTError

__all__ = ["NORMALIZATIONS", "content_loss", "gram_matrix", "layer_style_loss", "style_loss", "tv_loss"]

NORMALIZATIONS = ("relative", "paper", "mean")
_EPS = 1e-8


def _check_normalization(normalization: str) -> None:
    if normalization not in NORMALIZATIONS:
        raise NSTError(f"normalization must be one of {', '.join(NORMALIZATIONS)}, not {normalization!r}")


def content_loss(features: torch.Tensor, target: torch.Tensor, *, normalization: str = "relative") -> torch.Tensor:
    """How far ``features`` are from the content ``target``; (B, C, H, W) x2 -> ().

    Introduced in lesson 01.

    >>> f = torch.tensor([[[[1.0, 2.0]]]])
    >>> p = torch.tensor([[[[1.0, 0.0]]]])
    >>> content_loss(f, p, normalization="paper")  # 1/2 * (0 + 4)
    tensor(2.)
    >>> content_loss(f, p)  # 4 / (1 + 0)
    tensor(4.)
    """
    _check_normalization(normalization)
    if features.shape != target.shape:
        raise NSTError(f"content features {tuple(features.shape)} and target {tuple(target.shape)} differ in shape")
    squared = (features - target).pow(2).sum()
    if normalization == "paper":
        return 0.5 * squared
    if normalization == "mean":
        return squared / features.numel()
    return squared / (target.pow(2).sum() + _EPS)


def gram_matrix(features: torch.Tensor, *, normalize: bool = True) -> torch.Tensor:
    """Correlations between channels, summed over positions: (B, C, H, W) -> (B, C, C).

    ``G[b, i, j] = sum_k F[b, i, k] F[b, j, k]`` over the H*W positions k;
    with ``normalize`` (the default) divided by H*W, so that images of different
    sizes give comparable Gram matrices. Introduced in lesson 02.

    >>> f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # B=1, C=2, H=1, W=2
    >>> gram_matrix(f, normalize=False)
    tensor([[[ 5., 11.],
             [11., 25.]]])
    >>> gram_matrix(f)
    tensor([[[ 2.5000,  5.5000],
             [ 5.5000, 12.5000]]])
    """
    if features.ndim != 4:
        raise NSTError(f"gram_matrix expects (B, C, H, W) features, got shape {tuple(features.shape)}")
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    gram = flat @ flat.transpose(1, 2)
    return gram / (h * w) if normalize else gram


def layer_style_loss(
    features: torch.Tensor, target_gram: torch.Tensor, *, normalization: str = "relative"
) -> torch.Tensor:
    """One layer's style loss E_l: (B, C, H, W) features vs a (B, C, C) target Gram -> ().

    ``target_gram`` is ``gram_matrix(style_features)`` (normalised by positions).
    With ``"paper"`` this equals 1/(4 N^2 M^2) sum (G - A)^2 on unnormalised Grams,
    summed over the images of a batch (pystiche's replication averages them).

    >>> f = torch.ones(1, 2, 2, 2)
    >>> layer_style_loss(f, torch.zeros(1, 2, 2), normalization="paper")  # 4 * 1^2 / (4 * 2^2)
    tensor(0.2500)
    """
    _check_normalization(normalization)
    gram = gram_matrix(features)
    if gram.shape != target_gram.shape:
        raise NSTError(f"Gram matrix {tuple(gram.shape)} and target {tuple(target_gram.shape)} differ in shape")
    squared = (gram - target_gram).pow(2).sum()
    channels = features.shape[1]
    if normalization == "paper":
        return squared / (4.0 * channels**2)
    if normalization == "mean":
        return squared / gram.numel()
    return squared / (target_gram.pow(2).sum() + _EPS)


def style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    *,
    layer_weights: Mapping[str, float] | None = None,
    normalization: str = "relative",
) -> torch.Tensor:
    """The paper's L_style = sum_l w_l E_l over the layers in ``target_grams``.

    ``features`` and ``target_grams`` map layer names to (B, C, H, W) features
    and (B, C, C) Gram matrices. ``layer_weights`` defaults to 1/L for each of
    the L layers (the paper's 1/5 for five layers).

    >>> f = {"conv1_1": torch.ones(1, 1, 1, 1)}
    >>> style_loss(f, {"conv1_1": torch.full((1, 1, 1), 2.0)})  # (1 - 2)^2 / 2^2
    tensor(0.2500)
    """
    if not target_grams:
        raise NSTError("style_loss needs at least one style layer")
    missing = [name for name in target_grams if name not in features]
    if missing:
        raise NSTError(
            f"style_loss has targets for {', '.join(missing)} but no features there: "
            "compute the features at every target layer, e.g. net(image, list(target_grams))"
        )
    unknown = [name for name in (layer_weights or {}) if name not in target_grams]
    if unknown:
        raise NSTError(f"layer_weights names {', '.join(unknown)}, which have no target Gram matrix")
    weights = layer_weights or {name: 1.0 / len(target_grams) for name in target_grams}
    total = features[next(iter(target_grams))].new_zeros(())
    for name, target in target_grams.items():
        total = total + weights.get(name, 0.0) * layer_style_loss(features[name], target, normalization=normalization)
    return total


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of neighbouring pixels; (B, C, H, W) -> ().

    Zero for a constant image; penalises noise and checkerboard artefacts
    (Mahendran & Vedaldi 2015).

    >>> tv_loss(torch.ones(1, 3, 4, 4))
    tensor(0.)
    >>> tv_loss(torch.tensor([[[[0.0, 1.0]]]]))  # one horizontal step of 1
    tensor(1.)
    """
    if image.ndim != 4:
        raise NSTError(f"tv_loss expects a (B, C, H, W) image, got shape {tuple(image.shape)}")
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    zero = image.new_zeros(())
    return (dx.pow(2).mean() if dx.numel() else zero) + (dy.pow(2).mean() if dy.numel() else zero)
