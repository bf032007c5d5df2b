"""The deterministic benchmark dataset.

Layout (full size)::

    DATA/tree/big/big-0.bin … big-3.bin      4 × 250 MiB, pseudo-random (incompressible)
    DATA/tree/small/d00 … d99/f000.bin …     10,000 files of 1-8 KiB in 100 folders
    DATA/one/one.bin                         1 GiB, for the single-file throughput figure

Every byte comes from SHAKE-128 over a fixed label, one MiB block at a time, so any block can be
rewritten on its own: the "1 MiB change" overwrites block 125 of ``big-1.bin`` (offset 125 MiB)
with other bytes, and :func:`reset` puts the original block back. Every mtime is fixed, so two
runs start from byte- and stat-identical trees (the inode numbers stay too: nothing is copied).
A stamp file records the spec; a tree whose stamp and sizes match is reused, not rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

MIB = 1024 * 1024
BASE_MTIME = 1_700_000_000  # 2023-11-14, fixed
TOUCHED_MTIME = BASE_MTIME + 10_000_000


@dataclass(frozen=True)
class Spec:
    big_files: int = 4
    big_mib: int = 250
    small_files: int = 10_000
    small_dirs: int = 100
    small_min: int = 1024
    small_max: int = 8 * 1024
    one_mib: int = 1024
    change_file: int = 1  # big-<n>.bin gets the 1 MiB change
    change_offset_mib: int = 125
    touched: int = 10
    seed: int = 20240801

    @classmethod
    def quick(cls) -> Spec:
        return cls(
            big_files=4,
            big_mib=32,
            small_files=1_000,
            small_dirs=10,
            one_mib=256,
            change_offset_mib=16,
        )

    @property
    def tree_bytes(self) -> int:
        return self.big_files * self.big_mib * MIB + sum(s for _, s in self.small_layout())

    def small_layout(self) -> list[tuple[str, int]]:
        rng = random.Random(self.seed)
        per_dir = self.small_files // self.small_dirs
        out = []
        for i in range(self.small_files):
            d = min(i // per_dir, self.small_dirs - 1)
            out.append(
                (f"small/d{d:02d}/f{i:05d}.bin", rng.randint(self.small_min, self.small_max))
            )
        return out

    def touched_paths(self) -> list[str]:
        layout = self.small_layout()
        step = max(1, len(layout) // self.touched)
        return [layout[i * step][0] for i in range(self.touched)]


def block(label: str, index: int, size: int = MIB) -> bytes:
    return hashlib.shake_128(f"vault-bench/{label}/{index}".encode()).digest(size)


def _write_big(path: Path, label: str, mib: int) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        for i in range(mib):
            fh.write(block(label, i))
    os.replace(tmp, path)


class Dataset:
    def __init__(self, root: Path, spec: Spec) -> None:
        self.root = root
        self.spec = spec
        self.tree = root / "tree"
        self.one_dir = root / "one"
        self.one = self.one_dir / "one.bin"
        self.stamp = root / "dataset.json"

    def big_path(self, k: int) -> Path:
        return self.tree / "big" / f"big-{k}.bin"

    @property
    def change_path(self) -> Path:
        return self.big_path(self.spec.change_file)

    def _stamp_ok(self) -> bool:
        try:
            if json.loads(self.stamp.read_text()) != asdict(self.spec):
                return False
        except (OSError, ValueError):
            return False
        sp = self.spec
        for k in range(sp.big_files):
            p = self.big_path(k)
            if not p.is_file() or p.stat().st_size != sp.big_mib * MIB:
                return False
        if not self.one.is_file() or self.one.stat().st_size != sp.one_mib * MIB:
            return False
        return all((self.tree / rel).is_file() for rel, _ in sp.small_layout())

    def ensure(self, log: object = print) -> None:
        """Generate the tree unless a matching one is there; then reset it to its initial state."""
        sp = self.spec
        if not self._stamp_ok():
            log(f"generating dataset in {self.root} …")  # type: ignore[operator]
            shutil.rmtree(self.root, ignore_errors=True)
            (self.tree / "big").mkdir(parents=True)
            self.one_dir.mkdir(parents=True)
            for k in range(sp.big_files):
                _write_big(self.big_path(k), f"big/{k}", sp.big_mib)
            rng = random.Random(sp.seed + 1)
            for rel, size in sp.small_layout():
                p = self.tree / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(rng.randbytes(size))
            _write_big(self.one, "one", sp.one_mib)
            self.stamp.write_text(json.dumps(asdict(sp)))
        self.reset()

    def reset(self) -> None:
        """Undo :meth:`apply_change`, remove stray files, and fix every mtime."""
        sp = self.spec
        with open(self.change_path, "r+b") as fh:
            fh.seek(sp.change_offset_mib * MIB)
            fh.write(block(f"big/{sp.change_file}", sp.change_offset_mib))
        shutil.rmtree(self.tree / ".vault", ignore_errors=True)
        shutil.rmtree(self.one_dir / ".vault", ignore_errors=True)
        for k in range(sp.big_files):
            os.utime(self.big_path(k), (BASE_MTIME, BASE_MTIME + k))
        for i, (rel, _) in enumerate(sp.small_layout()):
            os.utime(self.tree / rel, (BASE_MTIME, BASE_MTIME + 100 + i))
        os.utime(self.one, (BASE_MTIME, BASE_MTIME))

    def apply_change(self, k: int = 0) -> None:
        """Overwrite 1 MiB at the change offset of one big file; touch some small files.

        Change ``k`` writes bytes no earlier change wrote: repeated changes are each new data.
        """
        sp = self.spec
        with open(self.change_path, "r+b") as fh:
            fh.seek(sp.change_offset_mib * MIB)
            fh.write(block("change", k))
        when = TOUCHED_MTIME + k
        os.utime(self.change_path, (when, when))
        for rel in sp.touched_paths():
            os.utime(self.tree / rel, (when, when))

    def file_count(self) -> int:
        return self.spec.big_files + self.spec.small_files
