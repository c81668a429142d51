#!/usr/bin/env bash
# Set up the course in ./.venv and run one job. Usage:
#   bash course.sh demo    set up, then paint the built-in town in the built-in swirls (results/demo.png)
#   bash course.sh lab     set up, then open the lessons in JupyterLab
#   bash course.sh test    set up with the test tools, then run every check (lint, types, unit, notebooks, browser)
#   bash course.sh test --fast   lint, types and the unit tests not marked slow: no notebooks, no browser
# Environment: PYTHON (default python3), NST_COURSE_CONSTRAINTS (a pip constraints
# file, default constraints.txt; "none" lets pip choose the torch build).
set -euo pipefail
cd "$(dirname "$0")"
job="${1:-demo}"
option="${2:-}"
python="${PYTHON:-python3}"
venv=.venv
constraints="${NST_COURSE_CONSTRAINTS:-constraints.txt}"

setup() {  # $1: pip extras, e.g. "[lab]" or "[test,lab]"
    if [ ! -x "$venv/bin/python" ]; then
        echo "== creating $venv with $($python --version)"
        "$python" -m venv "$venv"
    fi
    local stamp="$venv/.nst-course-installed$1"
    local want
    want="$("$venv/bin/python" -c 'import hashlib, pathlib, sys
print(hashlib.sha256(b"".join(pathlib.Path(f).read_bytes() for f in sys.argv[1:] if pathlib.Path(f).is_file())).hexdigest()[:16])' pyproject.toml "$constraints")"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "== installing nst-course$1 and its dependencies (the first time takes a few minutes)"
        local args=(-q -e ".$1")
        [ "$constraints" != none ] && args+=(-c "$constraints")
        "$venv/bin/python" -m pip install "${args[@]}"
        echo "$want" > "$stamp"
    fi
}

browser() {  # Debian's Chromium for the browser tests; never a downloaded browser
    if [ ! -x /usr/bin/chromium ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "== installing chromium (Debian package) for the browser tests"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        else
            echo "== /usr/bin/chromium is missing: the browser tests will be skipped (apt-get install chromium)"
        fi
    fi
}

case "$job" in
    demo)
        setup "[lab]"
        "$venv/bin/nst-course" transfer town swirls -o results/demo.png --size 192 --steps 150 --overwrite
        cat <<'MSG'

The result is results/demo.png; its PNG metadata records the settings and weights.
Open the lessons with:   bash course.sh lab      (or: .venv/bin/jupyter lab notebooks/)
More examples:           .venv/bin/nst-course --help
MSG
        ;;
    lab)
        setup "[lab]"
        lab_args=(lab notebooks/)
        [ "$(id -u)" = 0 ] && lab_args+=(--allow-root)  # e.g. in a container; Jupyter refuses root otherwise
        exec "$venv/bin/jupyter" "${lab_args[@]}"
        ;;
    test)
        case "$option" in
            "" | --fast) ;;
            *) echo "usage: bash course.sh test [--fast]" >&2; exit 2 ;;
        esac
        setup "[test,lab]"  # the browser tests drive JupyterLab
        [ "$option" = --fast ] || browser
        export NST_COURSE_WEIGHTS=random NST_COURSE_QUICK=1 MPLBACKEND=Agg
        "$venv/bin/ruff" check .
        "$venv/bin/ruff" format --check .
        "$venv/bin/python" -m mypy  # the files and settings: [tool.mypy] in pyproject.toml
        if [ "$option" = --fast ]; then
            exec "$venv/bin/python" -m pytest tests --ignore=tests/browser -m "not slow and not browser"
        fi
        exec "$venv/bin/python" -m pytest
        ;;
    *)
        echo "usage: bash course.sh {demo|lab|test [--fast]}" >&2
        exit 2
        ;;
esac
