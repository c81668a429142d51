"""``python -m nst_course`` runs the command line."""

import sys

try:
    from .cli import main  # imports torch: seconds, during which Ctrl-C is one line too
except KeyboardInterrupt:
    print("nst-course: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
