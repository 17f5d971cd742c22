"""`python -m dropstream_sync`: the same command line as the `dropstream-sync` script. Without
this file the package name, the first thing a user tries, failed with Python's "is a package
and cannot be directly executed"; `python -m dropstream_sync.cli` does the same."""

from dropstream_sync.cli import main

main()
