"""Hosted paths: the Zero to JupyterHub values in docs/classroom.md, and the Colab cells.

Zero to JupyterHub: Helm validates a hub's values against the chart's
``values.schema.json`` (made from ``jupyterhub/values.schema.yaml`` in
jupyterhub/zero-to-jupyterhub-k8s). That file is not in this repository: CHART_SCHEMA
below is written here and mirrors chart 4.4.0's schema for the keys our values set
(names allowed at the top and under ``singleuser``, and the types of the keys we use).
Helm validates the values merged with the chart's defaults, which supply every key
the chart requires, so no key is required here. One rule is stricter than the chart:
an ``extraEnv`` value is a string (Kubernetes' EnvVar) or an EnvVar object.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "docs" / "classroom.md"
NULLABLE_STRING = {"type": ["string", "null"]}
QUANTITY = {"type": ["number", "string", "null"]}
# jupyterhub/values.schema.yaml, chart 4.4.0: the names allowed at the top and under singleuser
CHART_TOP = [
    "cull", "custom", "debug", "enabled", "fullnameOverride", "global", "httpRoute", "hub", "imagePullSecret",
    "imagePullSecrets", "ingress", "nameOverride", "prePuller", "proxy", "rbac", "scheduling", "singleuser",
]  # fmt: skip
CHART_SINGLEUSER = [
    "allowPrivilegeEscalation", "cloudMetadata", "cmd", "cpu", "defaultUrl", "events", "extraAnnotations",
    "extraContainers", "extraEnv", "extraFiles", "extraLabels", "extraNodeAffinity", "extraPodAffinity",
    "extraPodAntiAffinity", "extraPodConfig", "extraResource", "extraTolerations", "fsGid", "image",
    "initContainers", "lifecycleHooks", "memory", "networkPolicy", "networkTools", "nodeSelector",
    "podNameTemplate", "profileList", "serviceAccountName", "startTimeout", "storage", "uid",
]  # fmt: skip
CHART_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "propertyNames": {"enum": CHART_TOP},
    "properties": {
        "singleuser": {
            "type": "object",
            "propertyNames": {"enum": CHART_SINGLEUSER},
            "properties": {
                "image": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "tag": {"type": "string"},
                        "pullPolicy": {"enum": [None, "", "IfNotPresent", "Always", "Never"]},
                        "pullSecrets": {"type": "array"},
                    },
                },
                "memory": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"limit": QUANTITY, "guarantee": QUANTITY},
                },
                "cpu": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"limit": {"type": ["number", "null"]}, "guarantee": {"type": ["number", "null"]}},
                },
                "extraEnv": {"type": ["object", "array"], "additionalProperties": {"type": ["string", "object"]}},
                "lifecycleHooks": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"postStart": {"type": "object"}, "preStop": {"type": "object"}},
                },
                "defaultUrl": NULLABLE_STRING,
                "storage": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "capacity": NULLABLE_STRING,
                        "dynamic": {"type": "object"},
                        "extraLabels": {"type": "object"},
                        "extraVolumeMounts": {"type": ["object", "array", "null"]},
                        "extraVolumes": {"type": ["object", "array", "null"]},
                        "homeMountPath": {"type": "string"},
                        "static": {"type": "object"},
                        "type": {"enum": ["dynamic", "static", "none"]},
                    },
                },
            },
        }
    },
}


def _values_in_the_docs() -> list[dict]:
    """Every YAML block of docs/classroom.md that configures the hub's single-user servers."""
    yaml = pytest.importorskip("yaml")
    blocks = re.findall(r"```yaml\n(.*?)```", CLASSROOM.read_text(encoding="utf-8"), flags=re.DOTALL)
    values = [yaml.safe_load(block) for block in blocks if re.search(r"^singleuser:", block, flags=re.MULTILINE)]
    assert values, "docs/classroom.md has no Zero to JupyterHub values (a ```yaml block with singleuser:)"
    return values


def _problems(values: dict) -> list[str]:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft7Validator(CHART_SCHEMA)
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(values)]


def test_the_hub_values_fit_the_charts_schema():
    for values in _values_in_the_docs():
        assert _problems(values) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda v: v["singleuser"].update(memmory={"limit": "2G"}), "singleuser"),  # a misspelt key
        (lambda v: v["singleuser"]["cpu"].update(limit="2"), "singleuser.cpu.limit"),  # a string for a number
        (lambda v: v["singleuser"]["extraEnv"].update(OMP_NUM_THREADS=2), "singleuser.extraEnv.OMP_NUM_THREADS"),
        (lambda v: v["singleuser"]["image"].update(tag=0.1), "singleuser.image.tag"),
        (lambda v: v.update(singleusers={}), "(top)"),
    ],
)
def test_the_schema_refuses_what_the_chart_refuses(change, where):
    values = _values_in_the_docs()[0]
    change(values)
    assert [p for p in _problems(values) if p.startswith(f"{where}:")], _problems(values)


def test_the_hubs_start_hook_copies_the_lessons(tmp_path):
    from nst_course.cli import main

    for values in _values_in_the_docs():
        command = values["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
        assert command[:2] == ["nst-course", "lessons"]
        folder = tmp_path / Path(command[2]).name
        assert main([*command[1:2], str(folder), *command[3:]]) == 0
        assert sorted(folder.glob("[0-9][0-9]-*.ipynb")), "the hook copied no lesson"
        assert values["singleuser"]["defaultUrl"] == f"/lab/tree/{folder.name}"


# --------------------------------------------------------------------------- Colab


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_notebooks", module)
    spec.loader.exec_module(module)
    return module


def _pyproject(tmp_path: Path, urls: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[project]\nname = "nst-course"\ndependencies = ["torch>=2.1", "torchvision >= 0.16", "numpy>=1.24",'
        ' "ipywidgets>=8.1"]\n' + urls,
        encoding="utf-8",
    )
    return path


def test_without_a_repository_nothing_is_added(build, tmp_path):
    assert build.repository_url(_pyproject(tmp_path, "")) is None
    assert build.colab_cells(None, "notebooks/00-x.ipynb", []) == []
    cells = build.parse("# %% [markdown]\n# # Title\n\n# %%\nx = 1\n")
    assert (
        build.make_notebook(cells, solutions=False).cells
        == build.make_notebook(cells, solutions=False, colab=build.colab_cells(None, "notebooks/00-x.ipynb", [])).cells
    )


def test_a_github_repository_gives_a_colab_link_and_an_install_cell(build, tmp_path, monkeypatch):
    from IPython.core.inputtransformer2 import TransformerManager

    pyproject = _pyproject(
        tmp_path, '[project.urls]\nRepository = "https://github.com/teacher/nst-course/tree/spring"\n'
    )
    repository = build.repository_url(pyproject)
    requirements = build.hosted_requirements(pyproject)
    assert requirements == ["numpy>=1.24", "ipywidgets>=8.1"]  # Colab's own torch and torchvision stay
    link, install = build.colab_cells(repository, "notebooks/solutions/00-x.ipynb", requirements)
    url = "https://colab.research.google.com/github/teacher/nst-course/blob/spring/notebooks/solutions/00-x.ipynb"
    assert link.kind == "markdown" and f"]({url})" in link.lines[0]
    code = "\n".join(install.lines)
    assert '--no-deps "nst-course @ git+https://github.com/teacher/nst-course@spring"' in code
    assert '"numpy>=1.24" "ipywidgets>=8.1"' in code
    pip_lines = [line for line in install.lines if "%pip" in line]
    assert len(pip_lines) == 2 and not [line for line in pip_lines if re.search(r"torch|jupyterlab", line, re.I)]
    python = TransformerManager().transform_cell(code)  # what IPython runs: the %pip lines become calls
    compile(python, "install-cell", "exec")
    ran = []

    class Shell:
        def run_line_magic(self, name, line):
            ran.append((name, line))

    monkeypatch.setitem(sys.modules, "nst_course", None)  # the course not installed yet
    exec(python, {"get_ipython": lambda: Shell()})  # not on Colab: nothing is installed
    assert ran == []
    monkeypatch.setitem(sys.modules, "google.colab", sys)  # on Colab
    exec(python, {"get_ipython": lambda: Shell()})
    assert [name for name, _ in ran] == ["pip", "pip"] and "--no-deps" in ran[0][1]
    monkeypatch.delitem(sys.modules, "nst_course")  # on Colab, the course already there
    exec(python, {"get_ipython": lambda: Shell()})
    assert len(ran) == 2
    cells = build.parse("# %% [markdown]\n# # Title\n\n# %%\nx = 1\n")
    nb = build.make_notebook(cells, solutions=True, colab=[link, install])
    assert [c.cell_type for c in nb.cells] == ["markdown", "markdown", "code", "code", "code"]
    assert nb.cells[0].source == "# Title" and nb.cells[2].source == code and nb.cells[3].source == build.INSTALL_CHECK


def test_a_repository_colab_cannot_open_is_refused_in_one_line(build):
    with pytest.raises(SystemExit, match="Colab opens notebooks from GitHub only"):
        build.colab_cells("https://gitlab.com/teacher/nst-course", "notebooks/00-x.ipynb", [])
