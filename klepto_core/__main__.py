"""``python -m klepto_core``: the klepto-core command."""

from klepto_core.cli import main

raise SystemExit(main())
