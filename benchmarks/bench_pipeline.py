"""Upload pipeline micro-benchmark: how close to libsodium's own speed is cut + id + seal?

Run from the repository root::

    python benchmarks/bench_pipeline.py [--size-mib 256] [--repeat 3]

On one random buffer (same bytes for every measure) it times:

* raw libsodium XChaCha20-Poly1305-IETF (``nacl.bindings`` directly) in 1 MiB and 256 KiB
  pieces: the ceiling;
* FastCDC alone (pyfastcdc, the vault's parameters and a vault-derived gear seed);
* keyed chunk id + key (SHA-256 of the chunk, then two HMAC-SHA-256) over the cut chunks;
* the full pipeline ``cut -> chunk_ref -> seal_chunk``, single-threaded and with a pool of
  2 worker threads (the main thread cuts, the workers hash and seal; libsodium and hashlib
  release the GIL on large buffers).

It prints a Markdown table and writes ``benchmarks/out/pipeline.json``. Targets: pipeline /
raw libsodium >= 0.5 and CDC >= 1 GB/s (GB = 10**9 bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nacl.bindings as sodium

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from vault_core import chunks
from vault_core.keys import new_bundle

MIB = 1024 * 1024
OUT = Path(__file__).resolve().parent / "out" / "pipeline.json"


def best_of(repeat: int, fn: Callable[[], int]) -> tuple[float, int]:
    """Run ``fn`` ``repeat`` times; return (best seconds, the value fn returned)."""
    best = float("inf")
    value = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def raw_aead(buf: bytes, piece: int) -> int:
    key = os.urandom(32)
    ad = b"vault.v1/chunk\x00" + bytes(32)
    mv = memoryview(buf)
    out = 0
    for off in range(0, len(buf), piece):
        # bytes() copy: PyNaCl wants bytes, and the pipeline pays the same copy.
        ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
            bytes(mv[off : off + piece]), ad, os.urandom(24), key
        )
        out += len(ct)
    return out


def cdc_only(buf: bytes, seed: int) -> int:
    chunker = chunks.new_chunker(seed)
    n = 0
    for _ in chunks.cut(chunker, buf):
        n += 1
    return n


def keyed_ids(pieces: list[memoryview], id_key: bytes, key_key: bytes) -> int:
    n = 0
    for piece in pieces:
        chunks.chunk_ref(id_key, key_key, piece)
        n += 1
    return n


def _one(id_key: bytes, key_key: bytes, piece: memoryview) -> int:
    ref = chunks.chunk_ref(id_key, key_key, piece)
    return len(chunks.seal_chunk(ref, piece, os.urandom(24)))


def pipeline_single(buf: bytes, seed: int, id_key: bytes, key_key: bytes) -> int:
    chunker = chunks.new_chunker(seed)
    out = 0
    for piece in chunks.cut(chunker, buf):
        out += _one(id_key, key_key, piece)
    return out


def pipeline_pool(buf: bytes, seed: int, id_key: bytes, key_key: bytes, workers: int) -> int:
    chunker = chunks.new_chunker(seed)
    out = 0
    window: deque[Future[int]] = deque()
    max_in_flight = 4 * workers  # bounded memory: at most this many sealed chunks alive
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for piece in chunks.cut(chunker, buf):
            window.append(pool.submit(_one, id_key, key_key, piece))
            if len(window) >= max_in_flight:
                out += window.popleft().result()
        while window:
            out += window.popleft().result()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    size = args.size_mib * MIB
    buf = os.urandom(size)
    bundle = new_bundle("bench", os.urandom(96), 0)
    vk = bundle.vault_keys
    seed, id_key, key_key = vk.cdc_seed, vk.chunk_id_key, vk.chunk_key_key
    pieces = list(chunks.cut(chunks.new_chunker(seed), buf))

    rows: list[dict[str, object]] = []

    def measure(name: str, fn: Callable[[], int]) -> float:
        seconds, _ = best_of(args.repeat, fn)
        gbps = float(size / seconds / 1e9)
        rows.append({"measure": name, "seconds": round(seconds, 4), "GB_per_s": round(gbps, 3)})
        print(f"  {name}: {gbps:.3f} GB/s", file=sys.stderr)
        return gbps

    raw_1m = measure("libsodium XChaCha20-Poly1305, 1 MiB pieces", lambda: raw_aead(buf, MIB))
    raw_256k = measure(
        "libsodium XChaCha20-Poly1305, 256 KiB pieces", lambda: raw_aead(buf, 256 * 1024)
    )
    cdc = measure("FastCDC alone", lambda: cdc_only(buf, seed))
    measure("keyed chunk id + key (SHA-256 + 2 HMAC)", lambda: keyed_ids(pieces, id_key, key_key))
    single = measure(
        "pipeline cut+chunk_ref+seal_chunk, 1 thread",
        lambda: pipeline_single(buf, seed, id_key, key_key),
    )
    pooled = measure(
        "pipeline cut+chunk_ref+seal_chunk, pool of 2",
        lambda: pipeline_pool(buf, seed, id_key, key_key, 2),
    )

    raw_best = max(raw_1m, raw_256k)
    result = {
        "size_bytes": size,
        "repeat": args.repeat,
        "chunks": len(pieces),
        "mean_chunk_bytes": size // max(1, len(pieces)),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "rows": rows,
        "ratio_pipeline_1thread_vs_raw": round(single / raw_best, 3),
        "ratio_pipeline_pool2_vs_raw": round(pooled / raw_best, 3),
        "cdc_GB_per_s": round(cdc, 3),
        "targets": {"ratio": 0.5, "cdc_GB_per_s": 1.0},
    }

    print(f"\n{args.size_mib} MiB random buffer, {len(pieces)} chunks, best of {args.repeat}\n")
    print("| measure | GB/s | s |")
    print("|---|---:|---:|")
    for row in rows:
        print(f"| {row['measure']} | {row['GB_per_s']:.3f} | {row['seconds']:.3f} |")
    print()
    print(
        "ratio pipeline / raw libsodium (best raw): "
        f"1 thread {result['ratio_pipeline_1thread_vs_raw']}, "
        f"pool of 2 {result['ratio_pipeline_pool2_vs_raw']} (target >= 0.5)"
    )
    print(f"CDC: {cdc:.3f} GB/s (target >= 1 GB/s)")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
