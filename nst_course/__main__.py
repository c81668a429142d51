"""``python -m nst_course`` runs the command line."""

from .cli import main

raise SystemExit(main())
