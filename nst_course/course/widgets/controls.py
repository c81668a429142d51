"""The controls an explorer can declare.

A control is a small frozen description: a label, a starting ``value`` and how
to ``read`` what the learner chose. ``build(w)`` makes its ipywidgets (``w`` is
the ipywidgets module, imported only when an explorer is shown) and returns
what holds the value and what to show. Without a widget front end the starting
value is used, read the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ...engine.vgg import LAYER_NAMES, STYLE_LAYERS
from ...errors import NSTError

__all__ = [
    "STYLE_LAYER_SETS",
    "Control",
    "Layer",
    "LayerPicker",
    "LayerSet",
    "LogNumber",
    "Whole",
    "image_size",
    "step_count",
]

#: The growing layer sets of the paper's style reconstructions (Fig. 1): relu1_1, then
#: relu1_1 + relu2_1, ... up to all five style layers (the paper's conv1_1 ... conv5_1).
STYLE_LAYER_SETS: tuple[tuple[str, ...], ...] = tuple(STYLE_LAYERS[: n + 1] for n in range(len(STYLE_LAYERS)))


class Control(Protocol):
    """What every control offers an explorer."""

    @property
    def value(self) -> Any:
        """The starting choice."""
        ...

    side: ClassVar[bool]
    """Shown in a column of its own, to the right of the others (tall controls)."""

    def build(self, w: Any) -> tuple[Any, Any]:
        """The widget whose ``.value`` is the choice, and the widget to show."""
        ...

    def read(self, value: Any) -> Any:
        """The choice as the explorer uses it; a clear NSTError if it cannot be used."""
        ...


def join_layers(layers: Sequence[str]) -> str:
    """``("relu1_1", "relu2_1")`` -> ``"relu1_1 + relu2_1"``, as captions and presets name a layer set."""
    return " + ".join(layers)


@dataclass(frozen=True)
class Layer:
    """A dropdown of every layer, by its name in the paper."""

    label: str
    value: str
    side: ClassVar[bool] = False

    def build(self, w: Any) -> tuple[Any, Any]:
        dropdown = w.Dropdown(options=list(LAYER_NAMES), value=self.value, description=self.label)
        dropdown.add_class("nst-layer")
        return dropdown, dropdown

    def read(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class Whole:
    """A slider of whole numbers."""

    label: str
    value: int
    low: int
    high: int
    step: int = 1
    side: ClassVar[bool] = False

    def build(self, w: Any) -> tuple[Any, Any]:
        slider = w.IntSlider(
            value=self.value,
            min=min(self.low, self.value),  # a start outside the usual range widens it, never moves the start
            max=max(self.high, self.value),
            step=self.step,
            description=self.label,
            continuous_update=False,
        )
        return slider, slider

    def read(self, value: Any) -> int:
        return int(value)


def step_count(value: int) -> Whole:
    """The number of optimiser steps."""
    return Whole("steps", value, 1, 500)


def image_size(value: int) -> Whole:
    """The longest side of the result, in pixels."""
    return Whole("size (px)", value, 32, 512, step=16)


@dataclass(frozen=True)
class LogNumber:
    """A slider on a log scale, from ``10**low`` to ``10**high`` (a loss weight, say)."""

    label: str
    value: float
    low: float
    high: float
    css: str = ""
    side: ClassVar[bool] = False

    def build(self, w: Any) -> tuple[Any, Any]:
        if not (isinstance(self.value, (int, float)) and math.isfinite(self.value) and self.value > 0):
            raise NSTError(f"{self.label} must be a number above 0 on a log slider, not {self.value!r}")
        exponent = math.log10(self.value)  # a start outside the range widens it, never moves the start
        slider = w.FloatLogSlider(
            value=self.value,
            base=10,
            min=min(self.low, math.floor(exponent)),
            max=max(self.high, math.ceil(exponent)),
            step=0.25,
            description=self.label,
            readout_format=".3g",
            continuous_update=False,
        )
        if self.css:
            slider.add_class(self.css)
        return slider, slider

    def read(self, value: Any) -> float:
        return float(value)


@dataclass(frozen=True)
class LayerSet:
    """Several layers: a dropdown of the paper's growing sets, and every layer to pick by hand."""

    label: str
    value: tuple[str, ...] = STYLE_LAYERS
    side: ClassVar[bool] = True

    def build(self, w: Any) -> tuple[Any, Any]:
        picker = LayerPicker(w, self.label, tuple(self.value) or STYLE_LAYERS)
        return picker, picker.view

    def read(self, value: Any) -> tuple[str, ...]:
        layers = tuple(value)
        if not layers:
            raise NSTError(f"choose at least one layer for the {self.label} (Ctrl-click to select several)")
        return layers


class LayerPicker:
    """The widgets of a :class:`LayerSet`; ``.value`` is the chosen layers.

    Picking a preset selects its layers; selecting layers by hand (Ctrl- or
    Shift-click) shows "(your choice)" in the dropdown.
    """

    def __init__(self, w: Any, label: str, value: tuple[str, ...]) -> None:
        presets = [(join_layers(layers), tuple(layers)) for layers in STYLE_LAYER_SETS]
        self.preset = w.Dropdown(
            options=[*presets, ("(your choice)", ())],
            value=value if value in STYLE_LAYER_SETS else (),
            description=label,
            layout={"width": "max-content"},
        )
        self.layers = w.SelectMultiple(
            options=list(LAYER_NAMES), value=value, rows=6, description="layers", layout={"width": "220px"}
        )
        self.note = w.HTML(layout={"margin": "0 0 0 90px"})
        self.preset.add_class("nst-layer-set")
        self.layers.add_class("nst-layers")
        self.note.add_class("nst-chosen-layers")
        self.preset.observe(self._preset_changed, names="value")
        self.layers.observe(self._layers_changed, names="value")
        self._show_choice()
        self.view = w.VBox([self.preset, self.layers, self.note], layout={"grid_gap": "4px"})

    @property
    def value(self) -> tuple[str, ...]:
        return tuple(self.layers.value)

    @value.setter
    def value(self, layers: Sequence[str]) -> None:
        self.layers.value = tuple(layers)

    def _preset_changed(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.layers.value = change["new"]

    def _layers_changed(self, change: dict[str, Any]) -> None:
        chosen = tuple(change["new"])
        self.preset.value = chosen if chosen in STYLE_LAYER_SETS else ()
        self._show_choice()

    def _show_choice(self) -> None:
        import html

        text = join_layers(self.layers.value) if self.layers.value else "none: pick at least one"
        self.note.value = f"<small>chosen: {html.escape(text)} (Ctrl- or Shift-click for several)</small>"
