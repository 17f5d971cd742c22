"""The garbage collector, kept out of the way of work that allocates and keeps everything.

Loading a large config and planning against a large account allocate an object per value
and free almost none of them: what they build is the result. CPython's collector counts the
allocations and keeps walking every tracked object to find them all alive (a full collection
of a 10,000-store plan walks the config, the live read and the plan so far). Pausing it for
such a block, and freezing what exists before it, saves that work; the frozen objects are
handed back to the collector afterwards, so a long-lived caller (tests, a library user)
leaks nothing.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection while the block runs, and nothing that existed before it
    scanned by the collection after it."""
    gc.freeze()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()
