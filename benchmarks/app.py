"""The desktop app's speed figures (issue 18), measured against a real server and a real
``vault app`` daemon on 127.0.0.1:

    python -m benchmarks.app [--files 10004] [--repeat 5] [--workdir DIR]

1. launch URL: from starting ``vault app`` on a profile to the launch URL on its stdout;
2. unlock: POST /api/unlock (Argon2id of the profile, the floor every face pays);
3. status: GET /api/status and GET /api/state (what the status screen needs first);
4. Mes documents: GET /api/documents with the benchmark's 10,004 files (the page's list is
   virtualised: the first rows paint from this one answer), once the daemon's first sync round
   has settled and at once after the unlock (beside that round), and a search;
5. a share: POST /api/shares of one document (a link).

Each figure is the median of ``--repeat`` rounds; the page's own paint times are measured in
the browser tests (tests/app). Prints a Markdown table; RESULTS.md keeps the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .tools import PASSPHRASE, VaultClient, VaultServer


class Daemon:
    def __init__(self, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "VAULT_PASSPHRASE"}
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vault_client.cli", "--home", str(home), "app", "--no-browser"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        self.launch_seconds = time.perf_counter() - t0
        self.port = int(self.url.split(":")[2].split("/")[0])
        self.cookie = ""
        _, headers = self.call("POST", "/api/session", {"token": self.url.split("#", 1)[1]})
        self.cookie = headers["set-cookie"].split(";", 1)[0]

    def call(self, method: str, path: str, body: Any = None) -> tuple[Any, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = {"Host": f"127.0.0.1:{self.port}", "Cookie": self.cookie}
        if method != "GET":
            headers.update({"Origin": f"http://127.0.0.1:{self.port}", "X-Vault-CSRF": "1"})
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        res = conn.getresponse()
        out = res.read()
        hdrs = {k.lower(): v for k, v in res.getheaders()}
        conn.close()
        if res.status != 200:
            raise RuntimeError(f"{method} {path}: {res.status} {out[:200]!r}")
        return json.loads(out), hdrs

    def timed(self, method: str, path: str, body: Any = None) -> tuple[float, Any]:
        t0 = time.perf_counter()
        out, _ = self.call(method, path, body)
        return time.perf_counter() - t0, out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


def make_tree(folder: Path, files: int) -> None:
    for i in range(files):
        d = folder / f"dossier-{i % 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"document-{i:05d}.txt").write_bytes(os.urandom(512 + i % 1024))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_004)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="vault-app-bench-"))
    server = VaultServer(work / "server")
    server.start()
    try:
        client = VaultClient(work / "home", work / "folder")
        client.init(server.url, "bench")
        make_tree(client.folder, args.files)
        t0 = time.perf_counter()
        client.sync()
        sync_seconds = time.perf_counter() - t0
        names = ("launch", "unlock", "status", "documents_first", "documents", "search", "share")
        figures: dict[str, list[float]] = {k: [] for k in names}
        count = 0
        for _ in range(args.repeat):
            d = Daemon(client.home)
            try:
                figures["launch"].append(d.launch_seconds)
                figures["unlock"].append(
                    d.timed("POST", "/api/unlock", {"passphrase": PASSPHRASE})[0]
                )
                t0 = time.perf_counter()
                d.call("GET", "/api/state")
                d.call("GET", "/api/status")
                figures["status"].append(time.perf_counter() - t0)
                seconds, docs = d.timed("GET", "/api/documents")
                figures["documents_first"].append(seconds)
                deadline = time.monotonic() + 120  # the daemon's first sync round, then:
                while d.call("GET", "/api/status")[0]["state"] != "idle":
                    if time.monotonic() > deadline:
                        raise RuntimeError("the daemon's sync did not settle")
                    time.sleep(0.1)
                seconds, docs = d.timed("GET", "/api/documents")
                figures["documents"].append(seconds)
                count = len(docs)
                figures["search"].append(d.timed("GET", "/api/documents?q=document-0999")[0])
                one = docs[len(docs) // 2]["path"]
                figures["share"].append(
                    d.timed("POST", "/api/shares", {"paths": [one], "expires_in": 86400})[0]
                )
            finally:
                d.stop()
    finally:
        server.stop()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in figures.items()}
    rows = [
        ("launch URL printed after start (s)", med["launch"], "< 1.5 s"),
        ("unlock, Argon2id (s)", med["unlock"], "(floor, reported)"),
        ("state + status answered (s)", med["status"], "status painted < 1 s"),
        (f"Mes documents: {count:,} files listed (s)", med["documents"], "first rows < 0.3 s"),
        (
            "the same at once after unlock, beside the first sync round (s)",
            med["documents_first"],
            "(reported)",
        ),
        ("search in them (s)", med["search"], "(reported)"),
        ("share created (s)", med["share"], "< 1 s"),
    ]
    print(f"{args.files:,} files (initial sync by the CLI: {sync_seconds:.1f} s), "
          f"median of {args.repeat} rounds\n")  # fmt: skip
    print("| figure | seconds | target |\n|---|---:|---|")
    for name, value, target in rows:
        print(f"| {name} | {value:.3f} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
