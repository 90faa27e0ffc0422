"""klepto-only behaviour (its decorator classes, ``_inspect`` and ``tools``), for the facades."""
