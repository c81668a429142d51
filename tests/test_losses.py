"""Exact answers and gradients for every loss."""

from __future__ import annotations

import doctest

import pytest
import torch

import nst_course as nst
from nst_course.engine import losses


def test_doctests_pass():
    failures, tried = doctest.testmod(losses, verbose=False)
    assert tried >= 8
    assert failures == 0


def test_gram_matrix_of_a_known_tensor():
    features = torch.arange(12, dtype=torch.float64).reshape(1, 3, 2, 2)
    flat = features.reshape(3, 4)
    expected = torch.tensor(
        [[sum(flat[i, k] * flat[j, k] for k in range(4)) for j in range(3)] for i in range(3)], dtype=torch.float64
    )
    assert torch.equal(nst.gram_matrix(features, normalize=False)[0], expected)
    assert torch.allclose(nst.gram_matrix(features)[0], expected / 4)
    assert nst.gram_matrix(features).shape == (1, 3, 3)


def test_gram_matrix_is_symmetric_and_batched():
    features = torch.randn(2, 5, 3, 7, generator=torch.Generator().manual_seed(0))
    gram = nst.gram_matrix(features)
    assert gram.shape == (2, 5, 5)
    assert torch.allclose(gram, gram.transpose(1, 2))
    assert torch.allclose(gram[1], nst.gram_matrix(features[1:])[0])


def test_gram_matrix_does_not_depend_on_image_size_for_a_repeated_pattern():
    tile = torch.randn(1, 4, 3, 3, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(nst.gram_matrix(tile), nst.gram_matrix(tile.repeat(1, 1, 2, 3)), atol=1e-6)


def test_content_loss_exact_values():
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    p = torch.tensor([[[[1.0, 0.0], [3.0, 2.0]]]])
    assert nst.content_loss(f, p, normalization="paper").item() == pytest.approx(0.5 * (4 + 4))
    assert nst.content_loss(f, p, normalization="mean").item() == pytest.approx(8 / 4)
    assert nst.content_loss(f, p).item() == pytest.approx(8 / (1 + 9 + 4))
    assert nst.content_loss(p, p).item() == 0.0


def test_style_loss_paper_normalisation_matches_the_formula():
    generator = torch.Generator().manual_seed(3)
    f = torch.randn(1, 3, 4, 5, generator=generator, dtype=torch.float64)
    s = torch.randn(1, 3, 4, 5, generator=generator, dtype=torch.float64)
    n, m = 3, 20
    g = nst.gram_matrix(f, normalize=False)
    a = nst.gram_matrix(s, normalize=False)
    expected = ((g - a) ** 2).sum() / (4 * n**2 * m**2)
    got = nst.layer_style_loss(f, nst.gram_matrix(s), normalization="paper")
    assert got.item() == pytest.approx(expected.item(), rel=1e-10)


def test_style_loss_weights_layers():
    f = {"a": torch.ones(1, 1, 1, 1), "b": torch.ones(1, 1, 1, 1)}
    targets = {"a": torch.full((1, 1, 1), 2.0), "b": torch.full((1, 1, 1), 1.0)}
    # layer a: (1 - 2)^2 / 4 = 0.25; layer b: 0
    assert nst.style_loss(f, targets).item() == pytest.approx(0.5 * 0.25)
    assert nst.style_loss(f, targets, layer_weights={"a": 2.0, "b": 1.0}).item() == pytest.approx(0.5)


def test_tv_loss_exact_values():
    assert nst.tv_loss(torch.full((1, 3, 5, 5), 0.3)).item() == 0.0
    stripes = torch.tensor([[[[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]]])
    assert nst.tv_loss(stripes).item() == pytest.approx(1.0)  # every horizontal step is 1, vertical 0


@pytest.mark.parametrize("normalization", ["relative", "paper", "mean"])
def test_gradients_are_right(normalization):
    generator = torch.Generator().manual_seed(4)
    f = torch.randn(1, 2, 3, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    p = torch.randn(1, 2, 3, 3, dtype=torch.float64, generator=generator)
    a = nst.gram_matrix(torch.randn(1, 2, 4, 4, dtype=torch.float64, generator=generator))
    assert torch.autograd.gradcheck(lambda x: nst.content_loss(x, p, normalization=normalization), (f,))
    assert torch.autograd.gradcheck(lambda x: nst.layer_style_loss(x, a, normalization=normalization), (f,))
    assert torch.autograd.gradcheck(nst.gram_matrix, (f,))
    assert torch.autograd.gradcheck(nst.tv_loss, (f,))


def test_losses_do_not_change_their_inputs():
    f = torch.randn(1, 2, 3, 3)
    p = torch.randn(1, 2, 3, 3)
    before = (f.clone(), p.clone())
    nst.content_loss(f, p)
    nst.layer_style_loss(f, nst.gram_matrix(p))
    nst.tv_loss(f)
    assert torch.equal(f, before[0]) and torch.equal(p, before[1])


def test_bad_inputs_get_clear_errors():
    with pytest.raises(nst.NSTError, match="differ in shape"):
        nst.content_loss(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 4))
    with pytest.raises(nst.NSTError, match=r"\(B, C, H, W\)"):
        nst.gram_matrix(torch.zeros(2, 3))
    with pytest.raises(nst.NSTError, match="normalization must be one of"):
        nst.content_loss(torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 1, 1), normalization="gatys")


def _the_authors_objective(net, content, style, image):
    """The objective of the authors' own code, written out as it does it, on ``net``'s weights.

    Its network reads the rectified outputs r11, r21, ... and max-pools. Content: the mean
    squared error at r42, weight 1. Style: the mean squared error of F F^T / (h*w) at r11,
    r21, r31, r41 and r51, each weighted 1e3 / n^2 for its n channels. The total is the sum.
    """

    def features(x):
        x = (x - net.mean) / net.std
        out, block, conv = {}, 1, 0
        for module in net.layers:
            if isinstance(module, (torch.nn.AvgPool2d, torch.nn.MaxPool2d)):
                module, block, conv = torch.nn.MaxPool2d(2, 2), block + 1, 0
            x = module(x)
            if isinstance(module, torch.nn.Conv2d):
                conv += 1
            elif isinstance(module, torch.nn.ReLU):
                out[f"r{block}{conv}"] = x
        return out

    def gram(f):
        b, c, h, w = f.shape
        flat = f.view(b, c, h * w)
        return torch.bmm(flat, flat.transpose(1, 2)) / (h * w)

    style_layers = ["r11", "r21", "r31", "r41", "r51"]
    weights = [1e3 / n**2 for n in [64, 128, 256, 512, 512]]
    mse = torch.nn.MSELoss()
    with torch.no_grad():
        fc, fs, fx = features(content), features(style), features(image)
        total = mse(fx["r42"], fc["r42"])
        for weight, name in zip(weights, style_layers, strict=True):
            total = total + weight * mse(gram(fx[name]), gram(fs[name]))
    return float(total)


def test_the_authors_objective_is_these_settings_on_a_max_pooling_network(net):
    from nst_course.engine.settings import AUTHORS_CODE_OBJECTIVE, AUTHORS_CODE_POOLING, replace_settings
    from nst_course.engine.vgg import with_pooling

    generator = torch.Generator().manual_seed(5)
    photo, painting = nst.load_image("town", size=48), nst.load_image("mosaic", size=48)
    image = torch.rand(photo.shape, generator=generator)
    settings = replace_settings(None, AUTHORS_CODE_OBJECTIVE)
    authors_net = with_pooling(net, AUTHORS_CODE_POOLING)
    objective = nst.build_objective(authors_net, settings, content=photo, style=painting)
    with torch.no_grad():
        ours = float(sum(objective(authors_net(image, objective.layers), image).values()))
    theirs = _the_authors_objective(net, photo, painting, image)
    assert ours == pytest.approx(theirs, rel=1e-5), f"the package's {ours:.6g} is not the authors' {theirs:.6g}"
