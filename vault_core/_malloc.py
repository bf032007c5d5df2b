"""The one process-level knob: glibc's allocator thresholds, set by the I/O shells.

Not part of the sans-I/O core's logic (nothing in ``vault_core`` calls it): the client's
chunk pipeline (when its workers start), its helper process and the server call
:func:`keep_freed_memory`; it acts once per process.

Why: both sides allocate and free buffers of 64 KiB-2 MiB all the time (sealed chunks,
received pieces of a body). With glibc's default thresholds such a buffer is often a fresh
``mmap`` (or heap memory just trimmed back to the system), so every 4 KiB page of it costs a
page fault and a zeroing on first touch: about a tenth of the CPU time of a 1 GiB upload on
both sides. Raising the mmap threshold to 32 MiB and the trim threshold to 256 MiB keeps freed
buffers in the heap for the next ones. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False


def keep_freed_memory() -> None:
    global _done
    if _done or not sys.platform.startswith("linux"):
        return
    _done = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 * 1024 * 1024)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return


def give_back_freed_memory() -> bool:
    """Return the heap's free memory to the system (glibc's ``malloc_trim``); False where
    there is nothing to call. What :func:`keep_freed_memory` keeps for the next buffers of a
    busy spell, a server gives back once it is idle (vault_server.memory)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        return False
    return True
