"""Hostile and unlucky input: tampered files, lost outputs, broken downloads, bad settings.

Each test names the failure it guards; every one gets a one-line NSTError, never a traceback,
and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import pathlib

import pytest
import torch
from torchvision.models import vgg19

import nst_course as nst
from nst_course import vgg


class _RunsCode:
    """Unpickling this touches a file: proof that a load ran code."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def _hostile_cache(tmp_path, monkeypatch) -> tuple[pathlib.Path, pathlib.Path]:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = vgg.imagenet_cache_path()
    cached.parent.mkdir(parents=True)
    marker = tmp_path / "code-ran"
    torch.save({"features.0.weight": _RunsCode(marker)}, cached)
    return cached, marker


def test_a_tampered_imagenet_cache_file_is_refused_by_its_hash(tmp_path, monkeypatch, offline):
    _, marker = _hostile_cache(tmp_path, monkeypatch)
    for spec in ("imagenet", "auto"):
        with pytest.warns(UserWarning) if spec == "auto" else pytest.raises(nst.NSTError, match="sha256"):
            nst.load_vgg19(weights=spec, device="cpu")
    assert not marker.exists(), "loading the cache file ran code"


def test_a_tampered_cache_file_with_a_matching_hash_still_runs_no_code(tmp_path, monkeypatch, offline):
    cached, marker = _hostile_cache(tmp_path, monkeypatch)
    monkeypatch.setattr(vgg, "_imagenet_sha256_prefix", lambda: hashlib.sha256(cached.read_bytes()).hexdigest()[:8])
    with pytest.raises(nst.NSTError, match="could not load the ImageNet"):
        nst.load_vgg19(weights="imagenet", device="cpu")
    assert not marker.exists(), "the cache file was loaded with weights_only=False"


def test_the_download_checks_the_published_hash(tmp_path, monkeypatch):
    """The real download path: torch's downloader is asked for the hash prefix in torchvision's file name."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    calls = []

    def download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, hash_prefix))
        raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "0000")')

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    with pytest.raises(nst.NSTError, match="failed their sha256 check"):
        nst.load_vgg19(weights="imagenet", device="cpu")
    url = vgg._imagenet_weights().url
    assert calls == [(url, "dcbb9e9d")] and url.endswith("vgg19-dcbb9e9d.pth")
    assert not vgg.imagenet_cache_path().exists()


def _features_state(**extra) -> dict:
    state = {k: torch.zeros_like(v, device="cpu") for k, v in vgg19(weights=None).features.state_dict().items()}
    return state | extra


def test_a_weights_file_without_a_pretrained_key_is_not_called_trained(tmp_path):
    path = tmp_path / "plain.pth"
    torch.save(_features_state(), path)
    net = nst.load_vgg19(weights=path, device="cpu")
    assert not net.weights.pretrained and "not known to be trained" in str(net.weights)
    torch.save({"pretrained": True, "state_dict": _features_state()}, path)
    assert nst.load_vgg19(weights=path, device="cpu").weights.pretrained


@pytest.mark.parametrize(
    "state",
    [
        {0: torch.zeros(3)},
        {"0.weight": [1.0, 2.0]},
        _features_state(**{"0.bias": torch.full((64,), float("nan"))}),
        _features_state(**{"34.weight": torch.full((512, 512, 3, 3), float("inf"))}),
    ],
    ids=["int-key", "list-value", "nan", "inf"],
)
def test_weights_files_with_odd_keys_values_or_non_finite_numbers_are_refused(tmp_path, state):
    path = tmp_path / "odd.pth"
    torch.save(state, path)
    with pytest.raises(nst.NSTError, match=r"not a VGG-19 state dict|NaN or infinite"):
        nst.load_vgg19(weights=path, device="cpu")
