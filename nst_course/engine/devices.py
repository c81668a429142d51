"""Choosing where tensors live: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

from ..errors import NSTError

__all__ = ["get_device"]


def get_device(device: str | torch.device | None = None) -> torch.device:
    """The device to compute on: ``device`` if given, else cuda > mps > cpu.

    >>> get_device("cpu")
    device(type='cpu')
    """
    if device is not None and str(device) != "auto":
        try:
            chosen = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise NSTError(f"unknown device {device!r}: use cpu, cuda, cuda:N or mps ({exc})") from None
        if chosen.type == "cuda" and not torch.cuda.is_available():
            raise NSTError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu")
        if chosen.type == "mps" and not torch.backends.mps.is_available():
            raise NSTError("device 'mps' was asked for but is not available here; use --device cpu")
        return chosen
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
