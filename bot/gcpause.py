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


_PAUSES = _Pauses()


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off cyclic garbage collection for the duration of the block."""
    with _PAUSES.lock:
        if _PAUSES.depth == 0:
            _PAUSES.resume = gc.isenabled()
            gc.disable()
        _PAUSES.depth += 1
    try:
        yield
    finally:
        with _PAUSES.lock:
            _PAUSES.depth -= 1
            if _PAUSES.depth == 0 and _PAUSES.resume:
                gc.enable()


def settle_heap() -> None:
    """Move every object alive now out of the cyclic collector's sight (gc.freeze), after a
    snapshot or an index of a large registry was built. Those hundreds of thousands of
    records hold no reference cycles and are freed by reference counting once replaced, but
    while they live each full collection walked them all again: pauses of a tenth of a second
    and more at 100,000 contacts, in whatever thread happened to allocate."""
    gc.freeze()
