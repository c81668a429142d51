"""The one runtime of every optimising explorer: a declaration in, Run and Stop out.

A :class:`Declaration` says what an explorer is: its controls, the settings a
choice gives, the call of the package's API that runs them, and the caption and
figures of a result. :func:`explore` turns it into an :class:`Explorer`
(controls, Run and Stop buttons, a live preview, a progress bar, a caption,
the figures) inside a Jupyter kernel, or into one :class:`PlainRun` of the
starting choice where there is no widget front end.

Nothing is optimised until Run is pressed. The run goes in a background
thread, so the kernel stays free to hear Stop; stopping keeps the best image
found so far. An error is shown as one line in the explorer, not as a traceback.
"""

from __future__ import annotations

import dataclasses
import html
import io
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import torch

from ...engine.estimate import Estimate
from ...engine.loop import Callback, Result
from ...engine.settings import Settings, check_setting_names
from ...errors import NSTError
from ...media.images import to_pil
from .controls import Control

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Declaration", "Explorer", "PlainRun", "explore", "front_end_available"]

PREVIEW_WIDTH = "256px"
#: Figures keep their own size (not stretched to the cell's width), but never overflow it.
FIGURE_LAYOUT = {"max_width": "100%", "height": "auto", "align_self": "flex-start"}
#: Seconds between two preview updates (every step would flood the browser).
PREVIEW_INTERVAL = 0.2

NO_FRONT_END = (
    "(No widget front end here, so this is a plain run with the default choice. "
    "Open the lesson in JupyterLab to choose for yourself.)"
)


class RunSettings(Protocol):
    """What a declaration's settings are: a dataclass (varied with ``dataclasses.replace``) with ``steps``."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    @property
    def steps(self) -> int: ...


#: The settings type of one declaration: :class:`Settings`, or another frozen dataclass with ``steps``.
S = TypeVar("S", bound=RunSettings)


@dataclasses.dataclass(frozen=True)
class Declaration(Generic[S]):
    """An optimising explorer, declared.

    ``overrides(choice)`` turns the chosen values (by control name) into changes
    of ``base``; ``run(settings, callback)`` is one call of the package's API;
    ``caption`` and ``figures`` describe its result; ``target(settings)`` is the
    picture the run aims at, shown next to the live preview.
    """

    kind: str
    """Names the explorer's CSS class, ``nst-explorer-<kind>``."""
    title: str
    base: S
    """The settings a run starts from: :class:`Settings`, or another frozen dataclass with ``steps``."""
    controls: Mapping[str, Control]
    overrides: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    run: Callable[[S, Callback | None], Result]
    caption: Callable[[S, Result], str]
    figures: Callable[[S, Result], Sequence[Figure]]
    target: Callable[[S], torch.Tensor]
    target_label: str = "target"
    figure_count: int = 1
    estimate: Callable[[S], Estimate] | None = None
    """``estimate(settings)``: the run's expected time and peak memory, shown before Run (None: not shown)."""

    def starting_choice(self) -> dict[str, Any]:
        return {name: control.read(control.value) for name, control in self.controls.items()}

    def settings_for(self, choice: Mapping[str, Any]) -> S:
        """The run's settings for a choice; an NSTError if they are not valid."""
        changes = self.overrides(choice)
        if isinstance(self.base, Settings):
            check_setting_names(changes)
        return dataclasses.replace(self.base, **changes)


def front_end_available() -> bool:
    """True inside a Jupyter kernel with ipywidgets installed."""
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def explore(declaration: Declaration[S]) -> Explorer[S] | PlainRun:
    """The explorer in a notebook with widgets; one plain run of the starting choice elsewhere."""
    if front_end_available():
        return Explorer(declaration)
    print(NO_FRONT_END)
    settings = declaration.settings_for(declaration.starting_choice())
    result = declaration.run(settings, None)
    caption = declaration.caption(settings, result)
    print(caption)
    return PlainRun(caption, list(declaration.figures(settings, result)), result)


# ---------------------------------------------------------------- what is shown


def png(image: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()


def figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def one_line(exc: BaseException) -> str:
    """An error as one line: the first line of its message (with its type, unless it is an NSTError)."""
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, NSTError):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def error_html(exc: BaseException) -> str:
    return f"<span style='color:#c62828'><b>Error:</b> {html.escape(one_line(exc))}</span>"


def stopped_text(result: Result, steps: int) -> str:
    """What a caption adds when the run did not finish."""
    if result.stopped == "finished":
        return ""
    if result.stopped == "converged":
        return f" — converged at step {result.converged_step} of at most {steps}"
    return f" — stopped at step {result.steps_done} of {steps}; the best image so far (step {result.best_step}) is kept"


@dataclasses.dataclass
class PlainRun:
    """What an explorer gives back without a widget front end: one plain run.

    In a notebook it shows the caption and the figures; ``print`` gives the
    caption; ``.figures`` can be saved with ``savefig``.
    """

    caption: str
    figures: list[Figure]
    result: Result | None = None

    def __str__(self) -> str:
        return self.caption

    def _repr_html_(self) -> str:
        import base64

        parts = [f"<p>{html.escape(self.caption)}</p>"]
        for figure in self.figures:
            data = base64.b64encode(figure_png(figure)).decode("ascii")
            parts.append(f'<img src="data:image/png;base64,{data}" style="max-width:100%">')
        return "\n".join(parts)


# ---------------------------------------------------------------- the explorer


class Explorer(Generic[S]):
    """A declaration's controls, Run and Stop, a live preview, a progress bar, a caption and figures.

    Display it (the last line of a cell) to see it. ``.controls`` holds, by name,
    what holds each choice (``.value``); ``.result`` the last result and
    ``.error`` the last error.
    """

    def __init__(self, declaration: Declaration[S]) -> None:
        import ipywidgets as w

        self.declaration = declaration
        self.title = declaration.title
        built = {name: control.build(w) for name, control in declaration.controls.items()}
        self.controls = {name: holder for name, (holder, _view) in built.items()}
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self.result: Result | None = None
        self.error: BaseException | None = None

        self.run_button = w.Button(description="Run", button_style="primary", icon="play", tooltip="start")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True, tooltip="stop, keep the best")
        self.run_button.add_class("nst-run")
        self.stop_button.add_class("nst-stop")
        self.run_button.on_click(lambda _button: self.run())
        self.stop_button.on_click(lambda _button: self.stop())

        image_layout = {"width": PREVIEW_WIDTH, "height": "auto", "object_fit": "contain"}
        self.target = w.Image(format="png", layout=image_layout)
        self.target.add_class("nst-target")
        self.preview = w.Image(format="png", layout=image_layout)
        self.preview.add_class("nst-preview")
        target = declaration.target(declaration.settings_for(declaration.starting_choice()))
        self.target.value = png(target)
        self.preview.value = png(torch.full_like(target, 0.5))
        self.progress = w.IntProgress(value=0, min=0, max=1, description="steps", layout={"width": "auto"})
        self.progress.add_class("nst-progress")
        self.status = w.HTML("Press <b>Run</b> to start" + self._estimate_text(declaration.starting_choice()) + ".")
        self.status.add_class("nst-status")
        self.caption = w.HTML("")
        self.caption.add_class("nst-caption")
        self.figures = [
            w.Image(format="png", layout={**FIGURE_LAYOUT, "display": "none"}) for _ in range(declaration.figure_count)
        ]
        for figure in self.figures:
            figure.add_class("nst-figure")

        def labelled(label: str, image: Any) -> Any:
            return w.VBox([w.HTML(f"<b>{html.escape(label)}</b>"), image])

        self.widget = w.VBox(
            [
                w.HTML(f"<h4 style='margin:0'>{html.escape(self.title)}</h4>"),
                _control_area(w, declaration.controls, built),
                w.HBox([self.run_button, self.stop_button]),
                w.HBox(
                    [labelled(declaration.target_label, self.target), labelled("live preview", self.preview)],
                    layout={"grid_gap": "16px"},
                ),
                self.progress,
                self.status,
                self.caption,
                *self.figures,
            ],
            layout={"max_width": "100%", "overflow": "hidden"},
        )
        self.widget.add_class("nst-explorer")
        self.widget.add_class(f"nst-explorer-{declaration.kind}")

    # display: delegate to the box, with a short, deterministic text form
    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"{self.title} (choose, then press Run; needs JupyterLab)"
        return bundle

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.title}>"

    def _estimate_text(self, choice: Mapping[str, Any]) -> str:
        """ ": about 20 s for at most 100 steps ..., peak about 900 MiB" for a choice; "" without an estimate."""
        if self.declaration.estimate is None:
            return ""
        try:
            estimate = self.declaration.estimate(self.declaration.settings_for(choice))
        except Exception:  # a bad choice is reported when Run is pressed
            return ""
        available = estimate.available  # None (unknown) always fits
        warning = (
            ""
            if estimate.fits or available is None
            else f" (more than the {available / 2**20:.0f} MiB available: use a smaller size)"
        )
        return html.escape(f": {estimate.line()}{warning}")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def choice(self) -> dict[str, Any]:
        """The controls' values, read as the declaration uses them."""
        controls = self.declaration.controls
        return {name: controls[name].read(holder.value) for name, holder in self.controls.items()}

    def run(self, *, wait: bool = False) -> None:
        """What Run does: read the controls, start the run in a background thread."""
        if self.running and self.run_button.disabled:
            return  # a run is going on
        self.wait(timeout=5)  # the last run has shown its result and is just ending
        self.error = None
        try:  # read now, so that changing a control does not affect a run in progress
            settings = self.declaration.settings_for(self.choice())
            target = self.declaration.target(settings)
        except Exception as exc:  # a bad choice: say so in one line
            self._fail(exc)
            return
        self._stop_event.clear()
        self.run_button.disabled = True
        self.stop_button.disabled = False
        self.progress.max = settings.steps
        self.progress.value = 0
        self.progress.bar_style = ""
        self.caption.value = ""
        for figure in self.figures:
            figure.layout.display = "none"
        self.target.value = png(target)
        self.status.value = f"Running{self._estimate_text(self.choice()) or f' {settings.steps} steps'}…"
        self._thread = threading.Thread(target=self._work, args=(settings,), name="nst-explorer", daemon=True)
        self._thread.start()
        if wait:
            self.wait()

    def stop(self) -> None:
        """What Stop does: the run ends after the current step, keeping its best image."""
        if self.running:
            self._stop_event.set()
            self.status.value = "Stopping after this step…"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current run ends; False if it is still going after ``timeout`` s."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def _callback(self, steps: int) -> Callback:
        last = [-math.inf]  # when the preview was last sent; local to this run, so the first step shows

        def callback(step: int, losses: Mapping[str, float], image: torch.Tensor) -> bool:
            self.progress.value = step
            now = time.monotonic()
            if now - last[0] >= PREVIEW_INTERVAL or step == steps:
                last[0] = now
                self.preview.value = png(image)
                self.status.value = f"Step {step} of {steps}: loss {losses['total']:.4g}"
            return self._stop_event.is_set()

        return callback

    def _work(self, settings: S) -> None:
        declaration = self.declaration
        try:
            result = declaration.run(settings, self._callback(settings.steps))
            self.result = result
            self.preview.value = png(result.image)
            figures = declaration.figures(settings, result)
            for widget, figure in zip(self.figures, figures, strict=True):
                widget.value = figure_png(figure)
                widget.layout.display = None
            caption = declaration.caption(settings, result) + stopped_text(result, settings.steps)
            stopped = result.stopped not in ("finished", "converged")
            self.progress.bar_style = "warning" if stopped else "success"
            self.status.value = (
                f"Stopped after {result.steps_done} steps ({result.seconds:.1f} s)."
                if stopped
                else f"Done: {result.steps_done} steps in {result.seconds:.1f} s"
                + (" (converged: the loss had stopped falling)." if result.stopped == "converged" else ".")
            )
            self._ready()
            self.caption.value = f"<b>{html.escape(caption)}</b>"  # last: the sign that the run is over
        except Exception as exc:  # shown in the widget, not as a traceback
            kept: Result | None = getattr(exc, "result", None)  # an OptimizationError keeps the last good image
            if kept is not None:
                self.result = kept
                self.preview.value = png(kept.image)
            self._fail(exc)
        finally:
            self._ready()

    def _ready(self) -> None:
        self.run_button.disabled = False
        self.stop_button.disabled = True

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        self.progress.bar_style = "danger"
        self.status.value = error_html(exc)
        self._ready()


def _control_area(w: Any, controls: Mapping[str, Control], built: Mapping[str, tuple[Any, Any]]) -> Any:
    """The controls in a wrapping row; tall ones (``side``) in a column to the right of the rest."""
    main = [built[name][1] for name, control in controls.items() if not control.side]
    side = [built[name][1] for name, control in controls.items() if control.side]
    if not side:
        return w.HBox(main, layout={"flex_flow": "row wrap", "align_items": "center", "grid_gap": "4px 16px"})
    column = w.VBox(main, layout={"grid_gap": "4px"})
    return w.HBox([column, *side], layout={"flex_flow": "row wrap", "grid_gap": "8px 32px"})
