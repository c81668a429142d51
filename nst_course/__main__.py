"""``python -m nst_course`` runs the command line."""

from .entry import main

raise SystemExit(main())
