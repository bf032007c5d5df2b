"""Load benchmark for the sync server.

N concurrent clients (default 50) on loopback, each with its own account, loop for a while:
upload a fresh 64 KiB blob, then append a log entry referencing it (compare-and-swap on its
own head). Reports requests/s, p50/p99 latency per kind and errors.

    python benchmarks/load_server.py [--duration 60] [--clients 50] [--url URL ...]

Without --url it starts `vault-server serve` on a fresh temporary data directory (embedded
SQLite + files). With --url given several times, the clients are spread over the URLs (round
robin), e.g. several processes of one installation.

Scale-out (several processes on one PostgreSQL and one S3 bucket):

    python benchmarks/load_server.py --processes 2 --metadata postgresql://... \
        --blobs 's3://bucket?endpoint=http://127.0.0.1:27480'        # + VAULT_S3_* keys
    python benchmarks/load_server.py --compare --metadata ... --blobs ...

--processes N starts N `vault-server serve` processes on those backends and spreads the clients
over them; --compare runs the embedded server, then 1 and 2 shared processes, and prints the
results side by side (--json FILE also writes them). --test-services takes the backends from
the variables scripts/with-services.sh exports (a fresh schema and bucket per run):

    scripts/with-services.sh -- python benchmarks/load_server.py --compare --test-services
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
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


async def start_servers(
    n: int, metadata: str | None, blobs: str | None, tmp: str
) -> tuple[list[asyncio.subprocess.Process], list[str]]:
    """``n`` server processes: embedded in ``tmp`` (n == 1), or on the shared backends."""
    procs, urls = [], []
    for _ in range(n):
        args = ["serve", "--port", "0"]
        if metadata and blobs:
            args += ["--metadata", metadata, "--blobs", blobs]
        else:
            args += ["--data", tmp]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vault_server",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=str(Path(__file__).resolve().parents[1]),
        )
        procs.append(proc)
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        if "listening on" not in line:
            raise SystemExit("server did not start")
        urls.append(line.split()[-1])
    return procs, urls


async def load(urls: list[str], duration: float, clients: int) -> tuple[Stats, float]:
    st = Stats()
    conn = aiohttp.TCPConnector(limit=clients * 2)
    async with aiohttp.ClientSession(connector=conn) as s:
        start = time.monotonic()
        await asyncio.gather(
            *(client(s, urls[i % len(urls)], i, start + duration, st) for i in range(clients))
        )
        elapsed = time.monotonic() - start
    return st, elapsed


def summary(st: Stats, elapsed: float, clients: int, label: str) -> dict[str, object]:
    total = sum(len(v) for v in st.lat.values())
    everything = [x for v in st.lat.values() for x in v]
    return {
        "label": label,
        "clients": clients,
        "duration_s": round(elapsed, 1),
        "requests": total,
        "req_per_s": round(total / elapsed, 1),
        "upload_mib_s": round(len(st.lat["upload"]) * BLOB / elapsed / 2**20, 1),
        "p50_ms": round(pct(everything, 0.5), 1),
        "p99_ms": round(pct(everything, 0.99), 1),
        "upload_p50_ms": round(pct(st.lat["upload"], 0.5), 1),
        "upload_p99_ms": round(pct(st.lat["upload"], 0.99), 1),
        "append_p50_ms": round(pct(st.lat["append"], 0.5), 1),
        "append_p99_ms": round(pct(st.lat["append"], 0.99), 1),
        "errors": sum(st.errors.values()),
        "error_kinds": dict(st.errors),
    }


def print_one(st: Stats, elapsed: float, clients: int) -> None:
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


def print_table(rows: list[dict[str, object]]) -> None:
    keys = [
        "req_per_s",
        "upload_mib_s",
        "p50_ms",
        "p99_ms",
        "upload_p50_ms",
        "append_p50_ms",
        "append_p99_ms",
        "requests",
        "errors",
    ]
    width = max(14, *(len(str(r["label"])) for r in rows))
    print("".ljust(15) + "".join(str(r["label"]).rjust(width + 2) for r in rows))
    for k in keys:
        print(k.ljust(15) + "".join(str(r[k]).rjust(width + 2) for r in rows))


async def run_config(
    urls: list[str] | None,
    processes: int,
    metadata: str | None,
    blobs: str | None,
    duration: float,
    clients: int,
    label: str,
) -> dict[str, object]:
    procs: list[asyncio.subprocess.Process] = []
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp:
        try:
            if not urls:
                procs, urls = await start_servers(processes, metadata, blobs, tmp)
            st, elapsed = await load(urls, duration, clients)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                await proc.wait()
    print(f"== {label}")
    print_one(st, elapsed, clients)
    return summary(st, elapsed, clients, label)


def use_test_services(args: argparse.Namespace) -> None:
    """--metadata/--blobs from VAULT_TEST_* (scripts/with-services.sh); keys for the servers."""
    try:
        dsn = os.environ["VAULT_TEST_PG_DSN"]
        endpoint = os.environ["VAULT_TEST_S3_ENDPOINT"]
        os.environ["VAULT_S3_ACCESS_KEY"] = os.environ["VAULT_TEST_S3_ACCESS_KEY"]
        os.environ["VAULT_S3_SECRET_KEY"] = os.environ["VAULT_TEST_S3_SECRET_KEY"]
    except KeyError as e:
        raise SystemExit(f"--test-services: {e.args[0]} is not set") from None
    tag = f"bench_{os.urandom(4).hex()}"
    region = os.environ.get("VAULT_TEST_S3_REGION", "us-east-1")
    sep = "&" if "?" in dsn else "?"
    args.metadata = f"{dsn}{sep}schema={tag}"
    args.blobs = f"s3://{tag.replace('_', '-')}?endpoint={endpoint}&region={region}"


async def run(args: argparse.Namespace) -> int:
    if args.test_services:
        use_test_services(args)
    shared = bool(args.metadata and args.blobs)
    if args.processes > 1 and not shared and not args.url:
        raise SystemExit("--processes > 1 needs --metadata and --blobs (a shared installation)")
    rows = []
    if args.compare:
        if not shared:
            raise SystemExit("--compare needs --metadata and --blobs")
        configs = [
            (1, None, None, "embedded x1"),
            (1, args.metadata, args.blobs, "shared x1"),
            (2, args.metadata, args.blobs, "shared x2"),
        ]
        for n, meta, blobs, label in configs:
            rows.append(await run_config(None, n, meta, blobs, args.duration, args.clients, label))
        print("== side by side")
        print_table(rows)
    else:
        label = f"{len(args.url)} url(s)" if args.url else f"x{args.processes}"
        rows.append(
            await run_config(
                args.url,
                args.processes,
                args.metadata,
                args.blobs,
                args.duration,
                args.clients,
                label,
            )
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if all(r["errors"] == 0 for r in rows) else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument(
        "--url", action="append", default=[], help="an already running server (repeatable)"
    )
    ap.add_argument("--processes", type=int, default=1, help="server processes to start")
    ap.add_argument("--metadata", default=None, help="postgresql://... for started servers")
    ap.add_argument("--blobs", default=None, help="s3://... for started servers")
    ap.add_argument("--compare", action="store_true", help="embedded x1, shared x1, shared x2")
    ap.add_argument("--json", default=None, help="write the results to this file")
    ap.add_argument(
        "--test-services", action="store_true", help="backends from VAULT_TEST_* variables"
    )
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
