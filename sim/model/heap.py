"""Keep freed memory in the process, so a quarter's temporaries do not fault in fresh pages.

Each quarter builds arrays the size of the firm population (claims, masks, candidates), and frees
them. glibc's allocator hands blocks above its mmap threshold (128 KB, raised adaptively) back to
the operating system when freed, and the next such array is mapped anew: every 4 KB page it
touches is a page fault. In a virtual machine a fault costs microseconds (measured here: 330,000
faults and 1.5 s of system time in a 10 s national run; 85,000 and 0.4 s with this setting, those
left being first use of the population's own columns). Raising the mmap threshold to 32 MB (glibc's
documented maximum on 64-bit) and the trim threshold to 1 GB makes freed blocks stay in the heap and
be reused. Results do not change: only where numpy's arrays live. Elsewhere than glibc it does
nothing.

What is left is the first use of the population's own columns, and numpy asks the kernel to back
its large arrays with 2 MB transparent huge pages (``madvise``). Under this machine's policy
(``enabled`` and ``defrag`` both ``madvise``) a fault on such a page may wait for the kernel to
compact memory: a national run's entry stage took 2.35 s of 14.1 s with the advice and 0.43 s
without, construction ~1.9 s against 0.43 s. ``small_pages`` turns the advice off (numpy's
documented global state; a user's ``NUMPY_MADVISE_HUGEPAGE`` wins).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

import numpy as np

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 1 << 30


@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's thresholds once per process; True when they were set."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl without mallopt, Windows)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


@functools.cache
def small_pages() -> bool:
    """Turn numpy's huge-page advice off once per process, unless the user set it; True when turned off."""
    toggle = getattr(np._core.multiarray, "_set_madvise_hugepage", None)
    if toggle is None or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    toggle(False)
    return True
