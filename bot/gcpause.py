"""`paused_gc()`: the cyclic garbage collector held off while a large structure is built.

Building a 100,000-person snapshot or answer index allocates millions of objects that all
live on; each allocation burst triggers collections that walk every live object again, which
made a cold read or index build three to six times slower than the work itself. These
structures hold no reference cycles worth collecting, so the collector waits until they are
built (nested pauses are safe; the collector runs again when the outermost one ends).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """Pauses in progress over all threads: the collector is process-wide state."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.resume = False
        self.settle = False


_PAUSES = _Pauses()


@contextmanager
def paused_gc(*, settle: bool = False) -> Iterator[None]:
    """Hold off cyclic garbage collection for the duration of the block.

    With `settle` (after building a snapshot or an index of a large registry), every object
    alive when the outermost pause ends is moved out of the collector's sight (gc.freeze)
    before it runs again. Those records hold no reference cycles and are freed by reference
    counting once replaced, but each full collection walked them all again, and the first
    collection after a long pause walked every object the pause let pile up: pauses of a
    tenth of a second and more at 100,000 contacts, in whatever thread happened to allocate.
    """
    with _PAUSES.lock:
        if _PAUSES.depth == 0:
            _PAUSES.resume = gc.isenabled()
            _PAUSES.settle = False
            gc.disable()
        _PAUSES.depth += 1
        _PAUSES.settle |= settle
    try:
        yield
    finally:
        with _PAUSES.lock:
            _PAUSES.depth -= 1
            if _PAUSES.depth == 0:
                if _PAUSES.settle:
                    gc.freeze()  # before the collector can run on what the pause piled up
                if _PAUSES.resume:
                    gc.enable()
