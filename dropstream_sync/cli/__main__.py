"""`python -m dropstream_sync.cli`: the same command line as the `dropstream-sync` script, for
a checkout run with PYTHONPATH (no install, so no script on PATH)."""

from dropstream_sync.cli import main

main()
