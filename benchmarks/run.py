"""End-to-end benchmark: vault (over HTTP to a local server) against restic and rclone.

    python -m benchmarks.run [--quick] [--tools vault,restic,rclone] [--workdir DIR]

Generates (once) a deterministic dataset, starts ``vault-server`` on 127.0.0.1, and measures,
for vault and — when installed — ``restic backup`` to a local repository and ``rclone sync`` to
a local crypt remote, in the same run:

1. initial sync of the tree (4 large files + many small ones);
2. no-change re-sync (median of ``--repeat`` runs);
3. re-sync after overwriting 1 MiB in the middle of one large file and touching 10 small
   files: time, and bytes the server / repository / remote grew by (median of ``--repeat``
   runs, each overwriting with new bytes, so that one noisy run does not decide a ratio);
4. one 1 GiB file: throughput, peak resident memory of the client (and of the server);
5. vault only: login of a new device, profile unlock (Argon2id), process start-up, and the
   encryption pipeline against raw libsodium on the same data (``benchmarks.pipeline``).

Writes ``benchmarks/out/results.json`` and ``benchmarks/out/results.md`` (a Markdown table with
ratios vault / restic and vault / rclone, the targets and whether they hold).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .dataset import MIB, Dataset, Spec
from .tools import CommandFailed, Rclone, Restic, Run, VaultClient, VaultServer, have, run

HERE = Path(__file__).resolve().parent
MB = 1_000_000

# Targets of issue 8 (ratios measured in one run on one machine).
T_INITIAL = 1.0  # vault / restic  <
T_NOCHANGE_RESTIC = 0.5  # vault / restic <
T_NOCHANGE_RCLONE = 1.0  # vault / rclone <=
T_CHANGE = 1.0  # vault / restic <
T_CHANGE_BYTES = 2_200_000  # bytes stored <=
T_ONE_THROUGHPUT = 2.0  # vault / restic >=
T_RSS = 200 * MB  # each side <
T_PIPELINE = 0.5  # pipeline / raw libsodium >=


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fig(r: Run, **extra: Any) -> dict[str, Any]:
    return {
        "seconds": round(r.seconds, 3),
        "max_rss": r.max_rss,
        "cpu": round(r.cpu, 3),
        "written": r.written,
        **extra,
    }


def median_run(fn: Any, repeat: int) -> dict[str, Any]:
    runs = [fn() for _ in range(repeat)]
    secs = [r.seconds for r in runs]
    best = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    return fig(best, all=[round(s, 3) for s in secs], seconds=round(statistics.median(secs), 3))


# -- vault ---------------------------------------------------------------------------------


def median_change(
    ds: Dataset, measured: Any, run_once: Any, repeat: int, label: str = "1 MiB change"
) -> dict[str, Any]:
    """The median of ``repeat`` runs after a 1 MiB change, each change new bytes."""
    results = []
    try:
        for k in range(repeat):
            ds.apply_change(k)
            results.append(measured(f"{label} #{k + 1}", lambda: fig(run_once())))
    finally:
        ds.reset()
    results.sort(key=lambda r: r["seconds"])
    med: dict[str, Any] = results[len(results) // 2]
    med["runs"] = [r["seconds"] for r in results]
    return med


def bench_vault(ds: Dataset, runs: Path, repeat: int, out: dict[str, Any]) -> None:
    srv = VaultServer(runs / "vault-server")
    srv.start()
    try:
        client = VaultClient(runs / "vault-home", ds.tree)
        log(f"vault: server at {srv.url}; init")
        client.init(srv.url, "bench")
        out["unlock"] = round(client.unlock_seconds(), 3)
        out["startup"] = round(client.startup_seconds(), 3)

        def measured(label: str, fn: Any) -> dict[str, Any]:
            s0, c0, w0 = srv.stored(), srv.cpu(), srv.written()
            srv.reset_peak()
            res: dict[str, Any] = fn()
            res["stored"] = srv.stored() - s0
            res["written"] = srv.written() - w0  # by the server (the client writes nothing)
            res["server_cpu"] = round(srv.cpu() - c0, 3)
            res["server_max_rss"] = srv.peak_rss()
            log(f"vault {label}: {res['seconds']:.3f} s, stored {res['stored']:,} B")
            return res

        out["initial"] = measured("initial", lambda: fig(client.sync()))
        out["nochange"] = measured("no-change", lambda: median_run(client.sync, repeat))
        out["change"] = median_change(ds, measured, client.sync, repeat)
        one = VaultClient(runs / "vault-home-one", ds.one_dir)
        one.init(srv.url, "bench-one")
        res = measured("one file", lambda: fig(one.sync()))
        res["MB_per_s"] = round(ds.spec.one_mib * MIB / res["seconds"] / MB, 1)
        out["one"] = res
        # a new device of the first account: Argon2id of the account KDF, proof, bundle, and the
        # profile's own Argon2id to seal the new device's secrets
        dev = VaultClient(runs / "vault-home-login", runs / "vault-login-folder")
        r = dev.login(srv.url, "bench")
        out["login"] = fig(r)
        log(f"vault login: {r.seconds:.3f} s; unlock {out['unlock']:.3f} s")
    finally:
        srv.stop()
    # the encryption pipeline on the same data as the 1 GiB figure, in a fresh process
    try:
        r = run([sys.executable, "-m", "benchmarks.pipeline", "--file", str(ds.one), "--json"])
    except CommandFailed as exc:
        log(f"pipeline benchmark failed: {exc}")
        return
    out["pipeline"] = json.loads(r.out)
    log(f"pipeline: {out['pipeline']['summary']}")


# -- restic --------------------------------------------------------------------------------


def bench_restic(ds: Dataset, runs: Path, repeat: int, out: dict[str, Any]) -> None:
    rs = Restic(runs / "restic-repo", runs / "restic-cache")
    out["version"] = rs.version()
    rs.init()
    out["open"] = round(rs.open_seconds(), 3)

    def measured(label: str, fn: Any, store: Restic = rs) -> dict[str, Any]:
        s0 = store.stored()
        res: dict[str, Any] = fn()
        res["stored"] = store.stored() - s0
        log(f"restic {label}: {res['seconds']:.3f} s, stored {res['stored']:,} B")
        return res

    out["initial"] = measured("initial", lambda: fig(rs.backup(ds.tree)))
    out["nochange"] = measured("no-change", lambda: median_run(lambda: rs.backup(ds.tree), repeat))
    out["change"] = median_change(ds, measured, lambda: rs.backup(ds.tree), repeat)
    one = Restic(runs / "restic-repo-one", runs / "restic-cache")
    one.init()
    res = measured("one file", lambda: fig(one.backup(ds.one_dir)), one)
    res["MB_per_s"] = round(ds.spec.one_mib * MIB / res["seconds"] / MB, 1)
    out["one"] = res


# -- rclone --------------------------------------------------------------------------------


def bench_rclone(ds: Dataset, runs: Path, repeat: int, out: dict[str, Any]) -> None:
    rc = Rclone(runs / "rclone-remote", runs / "rclone.conf")
    out["version"] = rc.version()
    rc.setup()

    def measured(label: str, fn: Any, store: Rclone = rc) -> dict[str, Any]:
        s0 = store.stored()
        res: dict[str, Any] = fn()
        res["stored"] = store.stored() - s0
        log(f"rclone {label}: {res['seconds']:.3f} s, stored {res['stored']:,} B")
        return res

    out["initial"] = measured("initial", lambda: fig(rc.sync(ds.tree)))
    out["nochange"] = measured("no-change", lambda: median_run(lambda: rc.sync(ds.tree), repeat))
    out["change"] = median_change(ds, measured, lambda: rc.sync(ds.tree), repeat)
    one = Rclone(runs / "rclone-remote-one", runs / "rclone-one.conf")
    one.setup()
    res = measured("one file", lambda: fig(one.sync(ds.one_dir)), one)
    res["MB_per_s"] = round(ds.spec.one_mib * MIB / res["seconds"] / MB, 1)
    out["one"] = res


# -- report --------------------------------------------------------------------------------


def _get(d: dict[str, Any], *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _ratio(a: Any, b: Any) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return float(a) / float(b)


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}{unit}" if v < 10 else f"{v:.1f}{unit}"
    if isinstance(v, int):
        return f"{v:,}{unit}"
    return str(v)


def _r(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def evaluate(res: dict[str, Any]) -> list[dict[str, Any]]:
    v, rs, rc = res.get("vault", {}), res.get("restic", {}), res.get("rclone", {})
    unlock = v.get("unlock")

    def minus_unlock(x: Any) -> Any:
        return None if x is None or unlock is None else x - unlock

    rows: list[dict[str, Any]] = []

    def row(
        name: str,
        ours: Any,
        restic: Any,
        rclone: Any,
        target: str,
        ok: bool | None,
        unit: str = "",
        higher_better: bool = False,
    ) -> None:
        rows.append(
            {
                "figure": name,
                "vault": ours,
                "restic": restic,
                "rclone": rclone,
                "vs_restic": _ratio(ours, restic),
                "vs_rclone": _ratio(ours, rclone),
                "target": target,
                "met": ok,
                "unit": unit,
                "higher_better": higher_better,
            }
        )

    def lt(x: float | None, t: float) -> bool | None:
        return None if x is None else x < t

    ini = (_get(v, "initial", "seconds"), _get(rs, "initial", "seconds"))
    row(
        "initial sync (s)",
        ini[0],
        ini[1],
        _get(rc, "initial", "seconds"),
        "< 1.0 × restic",
        lt(_ratio(*ini), T_INITIAL),
    )
    nc = _get(v, "nochange", "seconds")
    nrs, nrc = _get(rs, "nochange", "seconds"), _get(rc, "nochange", "seconds")
    ok_nc = None
    if nc is not None and nrs is not None and nrc is not None:
        ok_nc = nc / nrs < T_NOCHANGE_RESTIC and nc / nrc <= T_NOCHANGE_RCLONE
    row("no-change re-sync (s)", nc, nrs, nrc, "< 0.5 × restic and ≤ 1.0 × rclone", ok_nc)
    ncu = minus_unlock(nc)
    ok_ncu = None
    if ncu is not None and nrs is not None and nrc is not None:
        ok_ncu = ncu / nrs < T_NOCHANGE_RESTIC and ncu / nrc <= T_NOCHANGE_RCLONE
    row("no-change re-sync minus unlock (s)", ncu, nrs, nrc, "(same, without Argon2id)", ok_ncu)
    ch = (_get(v, "change", "seconds"), _get(rs, "change", "seconds"))
    row(
        "1 MiB change re-sync (s)",
        ch[0],
        ch[1],
        _get(rc, "change", "seconds"),
        "< 1.0 × restic",
        lt(_ratio(*ch), T_CHANGE),
    )
    chb = _get(v, "change", "stored")
    row(
        "1 MiB change: bytes stored",
        chb,
        _get(rs, "change", "stored"),
        _get(rc, "change", "stored"),
        "≤ 2.2 MB",
        None if chb is None else chb <= T_CHANGE_BYTES,
    )
    row(
        "1 MiB change: bytes written to storage",
        _get(v, "change", "written"),
        _get(rs, "change", "written"),
        _get(rc, "change", "written"),
        "(reported)",
        None,
    )
    one = (_get(v, "one", "MB_per_s"), _get(rs, "one", "MB_per_s"))
    okone = _ratio(*one)
    row(
        "1 GiB file: throughput (MB/s)",
        one[0],
        one[1],
        _get(rc, "one", "MB_per_s"),
        "≥ 2.0 × restic",
        None if okone is None else okone >= T_ONE_THROUGHPUT,
        higher_better=True,
    )
    crss = _get(v, "one", "max_rss")
    row(
        "1 GiB file: client peak RSS (MB)",
        None if crss is None else crss / MB,
        _get(rs, "one", "max_rss") and _get(rs, "one", "max_rss") / MB,
        _get(rc, "one", "max_rss") and _get(rc, "one", "max_rss") / MB,
        "< 200 MB",
        None if crss is None else crss < T_RSS,
    )
    srss = _get(v, "one", "server_max_rss")
    row(
        "1 GiB file: server peak RSS (MB)",
        None if srss is None else srss / MB,
        None,
        None,
        "< 200 MB",
        None if srss is None else srss < T_RSS,
    )
    pl = _get(v, "pipeline", "ratio")
    row(
        "pipeline / raw libsodium (same data)",
        pl,
        None,
        None,
        "≥ 0.5",
        None if pl is None else pl >= T_PIPELINE,
        higher_better=True,
    )
    row("login, new device (s)", _get(v, "login", "seconds"), None, None, "(reported)", None)
    row(
        "profile unlock, Argon2id 64 MiB t=3 (s)",
        unlock,
        rs.get("open"),
        None,
        "(floor, reported; restic: `cat config`)",
        None,
    )
    row("process start-up, `vault --version` (s)", v.get("startup"), None, None, "(reported)", None)
    return rows


def markdown(res: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    m = res["machine"]
    sp = res["spec"]
    lines = [
        "# Benchmark results",
        "",
        f"{res['date']} · {m['cpus']} cores · Python {m['python']} · {m['platform']}  ",
        f"dataset: {sp['big_files']} × {sp['big_mib']} MiB + {sp['small_files']:,} files of "
        f"{sp['small_min'] // 1024}-{sp['small_max'] // 1024} KiB in {sp['small_dirs']} folders "
        f"({res['tree_bytes'] / 2**30:.2f} GiB); one file of {sp['one_mib']} MiB"
        + (" — **quick mode**" if res["quick"] else ""),
        "  ",
        "tools: "
        + ", ".join(
            f"{k} {res[k].get('version', '')}".strip() for k in ("restic", "rclone") if res.get(k)
        ),
        "",
        "| figure | vault | restic | rclone | vault/restic | vault/rclone | target | met |",
        "|---|---:|---:|---:|---:|---:|---|:-:|",
    ]
    for r in rows:
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        lines.append(
            f"| {r['figure']} | {_fmt(r['vault'])} | {_fmt(r['restic'])} | {_fmt(r['rclone'])} "
            f"| {_r(r['vs_restic'])} | {_r(r['vs_rclone'])} | {r['target']} | {met} |"
        )
    v = res.get("vault", {})
    if v.get("pipeline"):
        lines += ["", "Pipeline (in-process, same bytes): " + v["pipeline"]["summary"]]
    lines += [
        "",
        "Times are wall-clock seconds of the whole command (process start, key derivation, "
        "network, fsync); vault talks HTTP to `vault-server` on 127.0.0.1, restic writes a local "
        'repository, rclone a local crypt remote. "minus unlock" subtracts the measured profile '
        "unlock (Argon2id, a security floor every `vault` command pays). Bytes stored: growth of "
        "the server's blob store and log / the repository / the remote (rclone replaces the "
        "changed file in place, so its growth is 0 although it rewrote the whole file: see bytes "
        "written, from the kernel's per-process I/O accounting, which include fsynced metadata "
        "and the SQLite journal on our side).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="vault vs restic vs rclone")
    ap.add_argument("--quick", action="store_true", help="small dataset (< 2 min)")
    ap.add_argument("--tools", default="vault,restic,rclone")
    ap.add_argument("--workdir", type=Path, default=HERE / "data")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--repeat", type=int, default=3, help="runs per change figure (median)")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    spec = Spec.quick() if args.quick else Spec()
    ds = Dataset(args.workdir / ("dataset-quick" if args.quick else "dataset"), spec)
    ds.ensure(log)
    runs = args.workdir / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    subprocess.run(["sync"], check=False)

    res: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "quick": args.quick,
        "spec": spec.__dict__,
        "tree_bytes": spec.tree_bytes,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for name, fn in (("vault", bench_vault), ("restic", bench_restic), ("rclone", bench_rclone)):
        if name not in tools:
            continue
        if name != "vault" and not have(name):
            log(f"{name} is not installed: skipped (apt-get install {name})")
            continue
        out: dict[str, Any] = {}
        res[name] = out
        fn(ds, runs, args.repeat, out)
    shutil.rmtree(runs, ignore_errors=True)
    res["total_seconds"] = round(time.perf_counter() - t_start, 1)
    rows = evaluate(res)
    res["table"] = rows
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    md = markdown(res, rows)
    (args.out / "results.md").write_text(md)
    print(md)
    log(f"done in {res['total_seconds']} s; wrote {args.out}/results.md and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
