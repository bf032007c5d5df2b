"""Load benchmark for the sync server.

N concurrent clients (default 50) on loopback, each with its own account, loop for a while:
upload a fresh 64 KiB blob, then append a log entry referencing it (compare-and-swap on its
own head). Reports requests/s, p50/p99 latency per kind and errors.

    python benchmarks/load_server.py [--duration 60] [--clients 50] [--url URL]

Without --url it starts `vault-server serve` on a fresh temporary data directory.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vault_core import _crypto
from vault_core.encoding import b64u

BLOB = 64 * 1024


def account_body(handle: str) -> dict[str, object]:
    def pk() -> str:
        return b64u(_crypto.sign_keypair(os.urandom(32))[0])

    return {
        "handle": handle,
        "kdf": {"alg": "argon2id", "m_kib": 65536, "t": 3, "p": 1, "salt": b64u(os.urandom(16))},
        "login_pk": pk(),
        "recovery_login_pk": pk(),
        "bundle_pass": b64u(b"bundle"),
        "bundle_recovery": b64u(b"bundle"),
        "identity": {
            "sign_pk": pk(),
            "box_pk": b64u(_crypto.box_keypair(os.urandom(32))[0]),
            "sig": b64u(os.urandom(64)),
        },
        "device": {"id": os.urandom(16).hex(), "name": "bench", "sign_pk": pk(), "cert": "AA"},
    }


class Stats:
    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = {"upload": [], "append": []}
        self.errors: dict[str, int] = {}

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def client(s: aiohttp.ClientSession, url: str, n: int, stop: float, st: Stats) -> None:
    async with s.post(
        f"{url}/v1/accounts", json=account_body(f"bench{n}-{os.urandom(3).hex()}")
    ) as r:
        if r.status != 201:
            st.error(f"account {r.status}")
            return
        h = {"Authorization": f"Bearer {(await r.json())['token']}"}
    head = 0
    while time.monotonic() < stop:
        data = os.urandom(BLOB)
        bid = hashlib.sha256(data).hexdigest()
        t = time.perf_counter()
        try:
            async with s.put(f"{url}/v1/blobs/{bid}", data=data, headers=h) as r:
                await r.read()
                ok = r.status in (200, 201)
        except aiohttp.ClientError as e:
            st.error(type(e).__name__)
            continue
        st.lat["upload"].append(time.perf_counter() - t)
        if not ok:
            st.error(f"upload {r.status}")
            continue
        body = {"expected_head": head, "entries": [{"entry": b64u(os.urandom(200)), "refs": [bid]}]}
        t = time.perf_counter()
        try:
            async with s.post(f"{url}/v1/log", json=body, headers=h) as r:
                answer = await r.json()
                status = r.status
        except aiohttp.ClientError as e:
            st.error(type(e).__name__)
            continue
        st.lat["append"].append(time.perf_counter() - t)
        if status == 201:
            head = answer["head"]
        else:
            st.error(f"append {status}")
            head = answer.get("head", head)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


async def run(url: str | None, duration: float, clients: int) -> int:
    proc = None
    tmp = None
    if url is None:
        tmp = tempfile.TemporaryDirectory(prefix="vault-bench-")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vault_server",
            "serve",
            "--data",
            tmp.name,
            "--port",
            "0",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=str(Path(__file__).resolve().parents[1]),
        )
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        url = line.split()[-1]
    st = Stats()
    try:
        conn = aiohttp.TCPConnector(limit=clients * 2)
        async with aiohttp.ClientSession(connector=conn) as s:
            start = time.monotonic()
            await asyncio.gather(*(client(s, url, i, start + duration, st) for i in range(clients)))
            elapsed = time.monotonic() - start
    finally:
        if proc is not None:
            proc.terminate()
            await proc.wait()
        if tmp is not None:
            tmp.cleanup()
    total = sum(len(v) for v in st.lat.values())
    everything = [x for v in st.lat.values() for x in v]
    print(f"clients={clients} duration={elapsed:.1f}s blob={BLOB // 1024}KiB")
    print(
        f"requests={total} rate={total / elapsed:.1f} req/s "
        f"upload_throughput={len(st.lat['upload']) * BLOB / elapsed / 2**20:.1f} MiB/s"
    )
    print(
        f"all     p50={pct(everything, 0.5):.1f}ms p99={pct(everything, 0.99):.1f}ms "
        f"mean={statistics.fmean(everything) * 1000 if everything else 0:.1f}ms"
    )
    for kind, v in st.lat.items():
        print(f"{kind:7} n={len(v)} p50={pct(v, 0.5):.1f}ms p99={pct(v, 0.99):.1f}ms")
    print(f"errors={sum(st.errors.values())} {st.errors if st.errors else ''}")
    return 0 if not st.errors else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--url", default=None, help="an already running server")
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args.url, args.duration, args.clients)))


if __name__ == "__main__":
    main()
