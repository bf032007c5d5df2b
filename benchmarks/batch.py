"""Deposit batches (issue 20, "Speed"): a city hall's campaign through ``deposit-batch``.

    python -m benchmarks.batch [--workdir DIR] [--quick]

10,000 deposits of 100 KiB documents (each different) to 1,000 owners (``--quick``: 1,000 to
100) through ``vault issuer deposit-batch`` against a real embedded server on 127.0.0.1
(``vault-server serve``, SQLite + files, its default limits), measured in the same run:

1. the floor: the Ed25519 signature of each deposit's statement plus the sealing of its
   document (SHA-256 of the document, ``vault_core.deposits.build_deposit``: the signed proof,
   the X25519 sealed key, XChaCha20-Poly1305 over the document), in one process, no I/O, over
   the same documents held in memory (read back after the batch, untimed);
2. the batch, end to end: wall time of the ``vault`` command from start to exit (reading the
   CSV and the files, fetching and pinning the 1,000 owners' keys, sealing, posting, the
   journal), deposits/s and its ratio to the floor (target >= 25%), with the command's CPU
   time and peak resident set (VmHWM, sampled);
3. the server: CPU seconds per deposit (``/proc/PID/stat``, utime + stime over the batch) and
   its resident set (``/proc/PID/status`` VmRSS) at the start, the middle and the end of the
   batch, with the peak (VmHWM, reset before the batch); flat: what the server holds does not
   grow with the deposits it has taken (middle to end within 10%);
4. the check: every owner holds its 10 deposits (the server's inbox table, counted), and a
   sample of them opens with its owner's key and verifies (``open_deposit``).

The issuer is a real profile made by the CLI (``vault init``, ``vault authority init`` /
``certify``, ``vault issuer init`` / ``set-cert``, ``vault-server grant-issuer``). The owners
are created through the API (``POST /v1/accounts``) in this process with the bodies ``vault
init`` sends (keys, bundles wrapped under the passphrase and the recovery key, an identity
signed by the account key, a device with its certificate) but Argon2id at the server's floor
(8 MiB, one pass) instead of the client's 64 MiB / 3 passes: the KDF runs on the owner's side
only and the server stores its parameters, so the server's work for a deposit is the same;
the owners never log in with the CLI.

Writes ``DIR/results.json`` and prints a Markdown table (benchmarks/RESULTS.md keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault_core import _crypto, keys
from vault_core import deposits as dep
from vault_core.encoding import b64u, unb64u
from vault_core.keys import AccountBundle, DeviceCert

from .tools import PASSPHRASE, VaultClient, VaultServer

KIB = 1024
MB = 1_000_000
T_RATIO = 0.25  # end-to-end deposits/s over the floor >=
OWNER_M_KIB, OWNER_T = 8, 1  # Argon2id at the server's floor (validate.kdf)
OWNER_KDF: dict[str, Any] = {"alg": "argon2id", "m_kib": OWNER_M_KIB, "t": OWNER_T, "p": 1}


@dataclass(frozen=True)
class Plan:
    owners: int
    per_owner: int
    size: int = 100 * KIB

    @property
    def deposits(self) -> int:
        return self.owners * self.per_owner


def _status(pid: int, field: str) -> int:
    """A size of /proc/PID/status in bytes (0 once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _rss(pid: int) -> int:
    return _status(pid, "VmRSS")


# -- the owners ------------------------------------------------------------------------------


@dataclass
class Owner:
    handle: str
    bundle: AccountBundle
    token: str


def _owner_body(handle: str) -> tuple[dict[str, Any], AccountBundle]:
    """What ``vault init`` posts (service/account.py), with the KDF at the server's floor."""
    salt = os.urandom(16)
    root = _crypto.argon2id(PASSPHRASE.encode(), salt, OWNER_M_KIB, OWNER_T, 1)
    pkeys = keys.PassphraseKeys(
        login_seed=_crypto.kdf(root, "vault.v1/login"), kek=_crypto.kdf(root, "vault.v1/kek")
    )
    rkeys = keys.derive_recovery_keys(os.urandom(32))
    bundle = keys.new_bundle(handle, os.urandom(96), int(time.time()))
    device_id, seed = os.urandom(16).hex(), os.urandom(32)
    device_pk, _ = keys.device_keypair(seed)
    cert = DeviceCert.issue(bundle, device_id, "bench", device_pk, int(time.time() * 1000))
    body = {
        "handle": handle,
        "kdf": {**OWNER_KDF, "salt": b64u(salt)},
        "login_pk": b64u(pkeys.login_keypair[0]),
        "recovery_login_pk": b64u(rkeys.login_keypair[0]),
        "bundle_pass": b64u(keys.wrap_bundle(bundle, pkeys.kek, "passphrase", os.urandom(24))),
        "bundle_recovery": b64u(keys.wrap_bundle(bundle, rkeys.kek, "recovery", os.urandom(24))),
        "identity": bundle.public_identity().to_json(),
        "device": {
            "id": device_id,
            "name": "bench",
            "sign_pk": b64u(device_pk),
            "cert": b64u(cert.encode()),
        },
    }
    return body, bundle


async def _create_owners(url: str, n: int) -> list[Owner]:
    import aiohttp

    gate = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> Owner:
            handle = f"owner{i:05d}"
            body, bundle = _owner_body(handle)
            async with gate, http.post(f"{url}/v1/accounts", json=body) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"account {handle}: {resp.status} {await resp.text()}")
                return Owner(handle, bundle, (await resp.json())["token"])

        return list(await asyncio.gather(*(one(i) for i in range(n))))


async def _open_sample(url: str, owners: list[Owner], issuer_pk: bytes) -> int:
    """Open every deposit of a few owners with their keys: proof, signature, document."""
    import aiohttp

    opened = 0
    async with aiohttp.ClientSession() as http:
        for o in owners:
            h = {"Authorization": f"Bearer {o.token}"}
            async with http.get(f"{url}/v1/inbox", headers=h) as resp:
                items = await resp.json()
            for item in items:
                async with http.get(f"{url}/v1/inbox/{item['id']}", headers=h) as resp:
                    full = await resp.json()
                proof, document = dep.open_deposit(
                    item["id"], o.bundle.identity_box_secret, unb64u(full["envelope"])
                )
                assert proof.statement.to == o.handle and proof.statement.issuer_pk == issuer_pk
                assert len(document) == proof.statement.size
                opened += 1
    return opened


# -- the floor -------------------------------------------------------------------------------


def floor(documents: list[bytes], owners: list[Owner], sk: bytes, cert: dep.IssuerCert) -> float:
    """Deposits per second of the signature plus the sealing alone (one process, no I/O)."""
    idents = [o.bundle.public_identity() for o in owners]
    t0 = time.perf_counter()
    for i, document in enumerate(documents):
        who, ident = owners[i % len(owners)], idents[i % len(idents)]
        st = dep.DepositStatement(
            deposit_id=os.urandom(16).hex(),
            to=who.handle,
            to_sign_pk=ident.sign_pk,
            doc_sha256=hashlib.sha256(document).digest(),
            doc_type="tax-notice",
            title=f"Avis {i}",
            filename=f"avis-{i}.pdf",
            issued=int(time.time()),
            size=len(document),
            issuer_pk=cert.issuer_pk,
        )
        dep.build_deposit(
            statement=st,
            issuer_sk=sk,
            cert=cert,
            document=document,
            recipient_box_pk=ident.box_pk,
            key=os.urandom(32),
            ephemeral=os.urandom(32),
            nonce=os.urandom(24),
        )
    return len(documents) / (time.perf_counter() - t0)


# -- the run ---------------------------------------------------------------------------------


def _issuer(srv: VaultServer, work: Path) -> tuple[VaultClient, bytes, dep.IssuerCert]:
    """A real issuer profile 'mairie', certified by a real authority profile."""
    auth = VaultClient(work / "authority", work / "authority-folder")
    auth_pk = auth("authority", "init").out.strip().splitlines()[-1]
    mairie = VaultClient(work / "mairie", work / "mairie-folder")
    mairie.init(srv.url, "mairie")
    subprocess.run(
        [sys.executable, "-m", "vault_server", "grant-issuer", "--data", str(srv.data), "mairie"],
        check=True,
        capture_output=True,
    )
    issuer_pk = mairie("issuer", "init", "--name", "Mairie de Lyon").out.strip().splitlines()[-1]
    cert_file = work / "mairie.cert.json"
    auth(
        "authority", "certify", "--issuer-key", issuer_pk, "--name", "Mairie de Lyon",
        "--valid", "30d", "--out", str(cert_file),
    )  # fmt: skip
    mairie("issuer", "set-cert", str(cert_file))
    del auth_pk
    # the same key material in this process, for the floor only (the CLI keeps its own)
    cert = dep.IssuerCert.from_json(json.loads(cert_file.read_text()))
    return mairie, unb64u(issuer_pk, 32), cert


def run_batch(plan: Plan, work: Path) -> dict[str, Any]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    srv = VaultServer(work / "server")
    srv.start()
    try:
        t0 = time.perf_counter()
        mairie, issuer_pk, cert = _issuer(srv, work)
        owners = asyncio.run(_create_owners(srv.url, plan.owners))
        setup_s = time.perf_counter() - t0

        docs = work / "docs"
        docs.mkdir()
        rows = ["handle;type;title;path"]
        for i in range(plan.deposits):
            (docs / f"avis-{i:05d}.pdf").write_bytes(b"%PDF-1.4 " + os.urandom(plan.size - 9))
            rows.append(
                f"{owners[i % plan.owners].handle};tax-notice;Avis {i};docs/avis-{i:05d}.pdf"
            )
        batch = work / "campagne.csv"
        batch.write_text("\n".join(rows) + "\n", encoding="utf-8")

        subprocess.run(["sync"], check=False)  # no write-back of the setup inside the batch
        srv.reset_peak()
        samples: list[tuple[float, int]] = []
        client_peak = [0]
        child: list[int] = []
        stop = threading.Event()
        cpu0, rss0 = srv.cpu(), _rss(srv.pid)

        def sample() -> None:
            while not stop.wait(0.1):
                samples.append((time.perf_counter(), _rss(srv.pid)))
                if child:  # the command's own peak (VmHWM starts anew at its exec)
                    client_peak[0] = max(client_peak[0], _status(child[0], "VmHWM"))

        sampler = threading.Thread(target=sample, daemon=True)
        t1 = time.perf_counter()
        sampler.start()
        with open(work / "batch.out", "wb") as out, open(work / "batch.err", "wb") as err:
            proc = subprocess.Popen(
                [*mairie.cmd, "issuer", "deposit-batch", str(batch), "--json"],
                env=mairie.env,
                stdout=out,
                stderr=err,
            )
            child.append(proc.pid)
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t1
        stop.set()
        sampler.join()
        cpu1, rss_end = srv.cpu(), _rss(srv.pid)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError((work / "batch.err").read_text()[-3000:])
        (summary,) = json.loads((work / "batch.out").read_text())
        mid = t1 + wall / 2
        rss_mid = min(samples, key=lambda s: abs(s[0] - mid))[1] if samples else rss_end

        con = sqlite3.connect(f"file:{srv.data / 'vault.sqlite3'}?mode=ro", uri=True)
        try:
            per_owner = [
                n for (n,) in con.execute("SELECT COUNT(*) FROM deposits GROUP BY recipient_id")
            ]
        finally:
            con.close()
        opened = asyncio.run(_open_sample(srv.url, owners[:3], issuer_pk))
        # the floor, after the batch (its documents in memory would be the command's too, in
        # the fork before its exec), over the same documents read back first, untimed; with
        # a throwaway issuer key of the same kind (a signature is a signature)
        documents = [(docs / f"avis-{i:05d}.pdf").read_bytes() for i in range(plan.deposits)]
        _, floor_sk = dep.issuer_keypair(os.urandom(32))
        floor_rate = floor(documents, owners, floor_sk, cert)
        del documents
        rate = plan.deposits / wall
        return {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": {
                "cpus": os.cpu_count(),
                "cpu": _cpu_name(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "plan": {"owners": plan.owners, "deposits": plan.deposits, "size": plan.size},
            "setup_seconds": round(setup_s, 1),
            "summary": {k: summary[k] for k in ("sent", "already", "failed")},
            "owners_with_all": sum(1 for n in per_owner if n == plan.per_owner),
            "owners_counted": len(per_owner),
            "opened_and_verified": opened,
            "wall_seconds": round(wall, 2),
            "deposits_per_second": round(rate, 1),
            "floor_per_second": round(floor_rate, 1),
            "ratio": round(rate / floor_rate, 3),
            "client_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "client_peak_rss": client_peak[0],
            "server_cpu_seconds": round(cpu1 - cpu0, 2),
            "server_cpu_ms_per_deposit": round((cpu1 - cpu0) * 1000 / plan.deposits, 3),
            "server_rss": {"start": rss0, "middle": rss_mid, "end": rss_end},
            "server_peak_rss": srv.peak_rss(),
        }
    finally:
        srv.stop()


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(r: dict[str, Any]) -> str:
    m, p = r["machine"], r["plan"]
    rss = r["server_rss"]
    ok_ratio = r["ratio"] >= T_RATIO
    growth = rss["end"] - rss["middle"]  # what grew with the second half of the deposits
    lines = [
        f"{r['date']} · {m['cpus']} cores ({m['cpu']}) · Python {m['python']} · {m['platform']}  ",
        f"{p['deposits']:,} deposits of {p['size'] // KIB} KiB to {p['owners']:,} owners, "
        f"one `vault issuer deposit-batch` against `vault-server serve` (embedded)",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| rows sent / already / failed | {r['summary']['sent']:,} / {r['summary']['already']}"
        f" / {r['summary']['failed']} | all sent |",
        f"| owners holding all their deposits | {r['owners_with_all']:,} of {p['owners']:,} | "
        f"all |",
        f"| end to end (command start to exit) | {r['wall_seconds']} s, "
        f"**{r['deposits_per_second']:,} deposits/s** | |",
        f"| floor: signature + sealing, one process, no I/O | "
        f"{r['floor_per_second']:,} deposits/s | |",
        f"| end to end / floor | **{r['ratio']:.0%}** | >= {T_RATIO:.0%} "
        f"{'(met)' if ok_ratio else '(NOT met)'} |",
        f"| server CPU per deposit | {r['server_cpu_ms_per_deposit']} ms "
        f"({r['server_cpu_seconds']} s in all) | |",
        f"| client CPU (the `vault` command) | {r['client_cpu_seconds']} s, peak RSS "
        f"{r['client_peak_rss'] / MB:.0f} MB | |",
        f"| server RSS at start / middle / end | {rss['start'] / MB:.0f} / "
        f"{rss['middle'] / MB:.0f} / {rss['end'] / MB:.0f} MB (peak {r['server_peak_rss'] / MB:.0f}"
        f" MB) | flat: middle to end within 10% ({growth / MB:+.0f} MB, "
        f"{'met' if abs(growth) <= 0.1 * rss['middle'] else 'NOT met'}) |",
        f"| deposits opened and verified by their owners (a sample) | "
        f"{r['opened_and_verified']} | all open |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench-batch"))
    ap.add_argument("--quick", action="store_true", help="1,000 deposits to 100 owners")
    args = ap.parse_args(argv)
    plan = Plan(owners=100, per_owner=10) if args.quick else Plan(owners=1000, per_owner=10)
    res = run_batch(plan, args.workdir)
    (args.workdir / "results.json").write_text(json.dumps(res, indent=1))
    print(table(res))


if __name__ == "__main__":
    main()
