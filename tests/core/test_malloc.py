"""The allocator knob of the I/O shells: freed buffers are reused, not faulted in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

# buffers of 64 KiB-2 MiB, a couple dozen alive at once and freed in turn: the pattern of
# sealed chunks and received pieces of a body
_PROBE = """
import random, resource, sys
from vault_core._malloc import keep_freed_memory
if sys.argv[1] == "tuned":
    keep_freed_memory()
rng = random.Random(5)
keep = []
for i in range(3000):
    keep.append(bytearray(rng.randrange(64 * 1024, 2 * 1024 * 1024)))
    if len(keep) > 24:
        keep.pop(0)
    if i == 100:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_freed_buffers_are_reused_instead_of_faulted_in_again() -> None:
    default, tuned = _faults("default"), _faults("tuned")
    assert default > 10_000  # glibc's defaults: buffers mapped afresh, faulted in page by page
    assert tuned < default / 10
