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


# --- publishing an output ---------------------------------------------------------------


def test_an_output_made_meanwhile_by_another_run_is_never_replaced(tmp_path):
    from nst_course.files import atomic_write

    target = tmp_path / "out.png"

    def slow_write(fh):
        fh.write(b"mine")
        target.write_bytes(b"theirs")  # another run publishes the same new name meanwhile

    with pytest.raises(nst.NSTError, match="exists; choose another name or add --overwrite"):
        atomic_write(target, slow_write, overwrite=False)
    assert target.read_bytes() == b"theirs" and [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_the_command_line_does_not_replace_a_result_another_run_saved_meanwhile(tmp_path, monkeypatch, capsys):
    from nst_course import cli

    out = tmp_path / "out.png"
    real = cli.reconstruct

    def racing(*args, **kwargs):
        result = real(*args, **kwargs)
        out.write_bytes(b"the other run's result")
        return result

    monkeypatch.setattr(cli, "reconstruct", racing)
    assert cli.main(["reconstruct", "town", "--layer", "relu1_1", "-o", str(out), *FAST]) == 2
    assert "exists; choose another name or add --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"the other run's result"


FAST = ["--size", "32", "--steps", "2", "--weights", "random", "-q"]


@pytest.mark.parametrize("place", ["read-only folder", "folder as target", "file as folder"])
def test_an_unwritable_output_is_refused_before_the_network_loads(tmp_path, monkeypatch, capsys, place):
    from nst_course import cli

    def no_network(**kwargs):
        raise AssertionError("the network was loaded before the output place was checked")

    monkeypatch.setattr(cli, "load_vgg19", no_network)
    if place == "read-only folder":  # /proc refuses new files even to root
        target, export = pathlib.Path("/proc/nst-out.png"), pathlib.Path("/proc/nst-out.pth")
    elif place == "folder as target":
        target = export = tmp_path / "dir.png"
        target.mkdir()
    else:
        (tmp_path / "file").write_text("x")
        target, export = tmp_path / "file" / "out.png", tmp_path / "file" / "out.pth"
    assert cli.main(["reconstruct", "town", "-o", str(target), *FAST]) == 2
    assert cli.main(["weights", "export", str(export), "--weights", "random"]) == 2
    err = capsys.readouterr().err
    assert err.count("nst-course: error:") == 2 and "Traceback" not in err, err


def test_os_errors_while_saving_are_one_line(tmp_path):
    from nst_course.files import atomic_write

    def disk_full(fh):
        raise OSError(28, "No space left on device")

    with pytest.raises(nst.NSTError, match="disk is full"):
        atomic_write(tmp_path / "x.png", disk_full)
    assert list(tmp_path.iterdir()) == []
