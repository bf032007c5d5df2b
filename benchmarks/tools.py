"""Process measurement and the three contenders: vault (client + server), restic, rclone.

Every timed command runs as a child process; wall time is measured around it and the peak
resident set size and CPU time come from ``wait4`` (rusage of that child only). The server's
peak resident set is read from ``/proc/PID/status`` (VmHWM), which is reset before a scenario
by writing ``5`` to ``/proc/PID/clear_refs``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PASSPHRASE = "benchmark passphrase, not a secret"


@dataclass
class Run:
    seconds: float
    max_rss: int  # bytes
    cpu: float  # user + system seconds of the child
    written: int  # bytes the child wrote to storage (rusage block output, 512-byte units)
    out: str
    err: str


class CommandFailed(RuntimeError):
    pass


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run ``cmd`` to completion; wall time, peak RSS and CPU time of that process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        o = out.read().decode(errors="replace")
        e = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise CommandFailed(f"{' '.join(cmd)} exited {proc.returncode}:\n{e[-3000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, usage.ru_maxrss * 1024, cpu, usage.ru_oublock * 512, o, e)


def dir_bytes(path: Path, skip: tuple[str, ...] = ()) -> int:
    """Bytes of the files under ``path``; folders named in ``skip`` and files whose name
    starts with an entry of ``skip`` (``small.db`` also skips ``small.db-wal``) are left out."""
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in skip]
        for f in files:
            if skip and f.startswith(skip):
                continue
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except FileNotFoundError:
                continue
    return total


# -- vault ---------------------------------------------------------------------------------


class VaultServer:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vault_server",
                "serve",
                "--data",
                str(self.data),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--quota",
                "100G",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                return
            if self.proc.poll() is not None:
                break
        raise RuntimeError("vault-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def reset_peak(self) -> None:
        with open(f"/proc/{self.pid}/clear_refs", "w") as fh:
            fh.write("5")

    def peak_rss(self) -> int:
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def cpu(self) -> float:
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def written(self) -> int:
        """Bytes the server process wrote to storage so far (/proc/PID/io write_bytes)."""
        with open(f"/proc/{self.pid}/io") as fh:
            for line in fh:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
        return 0

    def stored(self) -> int:
        """Bytes the server holds for clients: blob files, small blobs (rows of small.db,
        counted by their length: its write-ahead log is transient) and log entries."""
        blobs = dir_bytes(self.data / "blobs", skip=(".staging", "small.db"))
        return (
            blobs
            + _sum_of(self.data / "blobs" / "small.db", "SELECT SUM(LENGTH(data)) FROM small")
            + _sum_of(self.data / "vault.sqlite3", "SELECT SUM(LENGTH(entry)) FROM log_entries")
        )


def _sum_of(db: Path, query: str) -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(con.execute(query).fetchone()[0] or 0)
    finally:
        con.close()


class VaultClient:
    def __init__(self, home: Path, folder: Path) -> None:
        self.home = home
        self.folder = folder
        exe = shutil.which("vault")
        self.cmd = (
            [exe] if exe else [sys.executable, "-c", "from vault_client.cli import main; main()"]
        )
        self.env = dict(os.environ)
        self.env.update(
            VAULT_HOME=str(home), VAULT_PASSPHRASE=PASSPHRASE, VAULT_DEVICE_NAME="bench"
        )

    def __call__(self, *args: str) -> Run:
        return run([*self.cmd, *args], env=self.env)

    def init(self, url: str, handle: str) -> Run:
        return self("init", "--server", url, "--user", handle, "--folder", str(self.folder))

    def login(self, url: str, handle: str) -> Run:
        return self("login", "--server", url, "--user", handle, "--folder", str(self.folder))

    def sync(self) -> Run:
        return self("sync")

    def unlock_seconds(self, repeat: int = 3) -> float:
        """Time of the profile unlock alone (Argon2id + AEAD open), in a fresh process."""
        code = (
            "import time,sys;from pathlib import Path;from vault_client.profile import Profile;"
            "p=Profile(Path(sys.argv[1]));best=9e9\n"
            f"for _ in range({repeat}):\n"
            " p._secrets=None;t=time.perf_counter();p.unlock(sys.argv[2]);"
            "best=min(best,time.perf_counter()-t)\n"
            "print(best)"
        )
        r = run([sys.executable, "-c", code, str(self.home), PASSPHRASE])
        return float(r.out.strip())

    def startup_seconds(self) -> float:
        return min(run([*self.cmd, "--version"], env=self.env).seconds for _ in range(3))


# -- restic --------------------------------------------------------------------------------


class Restic:
    def __init__(self, repo: Path, cache: Path) -> None:
        self.repo = repo
        self.env = dict(os.environ)
        self.env.update(RESTIC_PASSWORD=PASSPHRASE, RESTIC_CACHE_DIR=str(cache))
        self.exe = shutil.which("restic") or "restic"

    def version(self) -> str:
        return run([self.exe, "version"], env=self.env).out.strip()

    def init(self) -> Run:
        return run([self.exe, "--repo", str(self.repo), "init"], env=self.env)

    def backup(self, src: Path) -> Run:
        return run(
            [self.exe, "--repo", str(self.repo), "backup", "--quiet", "--exclude", ".vault", "."],
            env=self.env,
            cwd=src,
        )

    def open_seconds(self) -> float:
        """``restic cat config``: process start + key derivation + opening the repository."""
        return min(
            run([self.exe, "--repo", str(self.repo), "cat", "config"], env=self.env).seconds
            for _ in range(3)
        )

    def stored(self) -> int:
        return dir_bytes(self.repo)


# -- rclone --------------------------------------------------------------------------------


class Rclone:
    def __init__(self, remote_dir: Path, config: Path) -> None:
        self.remote_dir = remote_dir
        self.config = config
        self.exe = shutil.which("rclone") or "rclone"
        self.env = dict(os.environ)
        self.env["RCLONE_CONFIG"] = str(config)

    def version(self) -> str:
        return run([self.exe, "version"], env=self.env).out.splitlines()[0].strip()

    def setup(self) -> None:
        self.remote_dir.mkdir(parents=True, exist_ok=True)
        obscured = run([self.exe, "obscure", PASSPHRASE], env=self.env).out.strip()
        self.config.write_text(
            "[bench]\n"
            "type = crypt\n"
            f"remote = {self.remote_dir}\n"
            f"password = {obscured}\n"
            "filename_encryption = standard\n"
            "directory_name_encryption = true\n"
        )

    def sync(self, src: Path) -> Run:
        return run([self.exe, "sync", str(src), "bench:", "--exclude", "/.vault/**"], env=self.env)

    def stored(self) -> int:
        return dir_bytes(self.remote_dir)


def have(tool: str) -> bool:
    return shutil.which(tool) is not None
