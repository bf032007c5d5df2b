"""Large files chunked, sealed and uploaded by a helper process.

Theory of operation
-------------------
One sync is one Python process, and its event loop thread is the bottleneck of a big first
sync: every small file costs a few hundred microseconds of Python (manifest, record, signed
log entry), and every large file needs the same thread to read, cut and send its blocks, so
the two take turns although the machine has cores to spare (hashing and sealing already run
on worker threads). When a sync has at least ``HELPER_BYTES`` of large files to upload, a
helper process (``python -m vault_client.sync.helper``) takes them: it reads, cuts, hashes,
seals and uploads their chunks exactly as the in-process pipeline does (same
:class:`.pipeline.ChunkPipeline`, same :class:`.uploader.Uploader`, same checks that the file
is the one the scan saw and did not change while read) and answers, per file, the list of
chunk references. The parent (:mod:`.apply`) builds the manifest and the signed record from
them, as for any other file, and appends nothing before the helper has said that every batch
reached the server.

Files are handed out one at a time, one ahead (the helper never waits for its next file, and
the parent keeps the rest): when the parent has finished its own uploads it takes the large
files not handed out yet and uploads them itself, so both processes work until the end.

What crosses the pipe (the helper's stdin/stdout, pickled, between two processes of the same
user, never logged, never on a command line): the server URL and session token, the chunk id
and chunk key keys and the chunker seed (the helper never sees the vault's other keys, the
record key or the device's signing key), then each file to upload with its scan stat, then
"end"; back come chunk references, ids of blobs the server now holds, and bytes sent.

The helper is an accelerator, not a dependency: if it cannot start, dies, or fails for any
reason other than one file being unreadable or changed, the parent uploads the files it has
no answer for itself, and any lasting error (quota, server gone) surfaces from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

from vault_core import chunks as chunkmod

from ..hardening import child_environment
from .common import SWITCH_INTERVAL, ContentChanged
from .pipeline import ChunkPipeline, opened_as_seen, queue_chunks
from .uploader import Uploader

HELPER_BYTES = 64 * 1024 * 1024  # large uploads from this total go to a helper process...
HELPER_OTHERS = 256  # ...when this many other uploads keep the parent busy meanwhile


def wanted(large_bytes: int, others: int, auto_only: bool = False) -> bool:
    """Whether a helper pays for its start (~0.2 s): enough large files, and enough other
    uploads to do meanwhile, on at least two cores. ``VAULT_HELPER=0`` turns it off, ``=1``
    on for any large file (tests; not with ``auto_only``: the scan's early start)."""
    mode = os.environ.get("VAULT_HELPER", "auto")
    if mode == "0" or not large_bytes:
        return False
    if mode == "1" and not auto_only:
        return True
    return (os.cpu_count() or 1) >= 2 and large_bytes >= HELPER_BYTES and others >= HELPER_OTHERS


@dataclass(frozen=True)
class Job:
    server: str
    token: str
    chunk_id_key: bytes
    chunk_key_key: bytes
    cdc_seed: int
    state_db: str | None  # the parent's state database, read-only here (known blobs); None
    # on a first sync

    def __repr__(self) -> str:
        return f"Job({self.server!r})"


File = tuple[str, str, int, int, int]  # vault path, disk path, size, mtime_ns, ino


@dataclass(frozen=True)
class FileDone:
    """One file: its chunk references, or why it was left for the next sync."""

    path: str
    refs: list[chunkmod.ChunkRef] | None
    problem: str | None = None  # "changed", or the OSError's text


# -- the parent's side ---------------------------------------------------------------------


class Helper:
    """A running helper process and the answers it sends, in file order."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.sent: list[str] = []  # paths handed to the helper
        self.bytes_sent = 0
        self.uploaded: list[str] = []  # blob ids the server holds now
        self.finished = False

    @classmethod
    def spawn(cls) -> Helper | None:
        """Start a helper process (it loads its modules, then waits for a job)."""
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "vault_client.sync.helper"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=child_environment(),  # (no passphrase: the job crosses the pipe)
            )
        except OSError:
            return None
        return cls(proc)

    @classmethod
    def start(cls, job: Job, spare: Helper | None = None) -> Helper | None:
        """A helper (``spare``, started ahead, or a new one) with the job; None if none can
        start."""
        helper = spare if spare is not None and spare.proc.poll() is None else cls.spawn()
        if helper is None:
            return None
        if not helper._send(job):
            helper.stop()
            return None
        return helper

    def _send(self, msg: Any) -> bool:
        stdin = self.proc.stdin
        if stdin is None or stdin.closed:
            return False
        try:
            pickle.dump(msg, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
        except (OSError, pickle.PickleError):
            return False
        return True

    def give(self, file: File) -> bool:
        """Hand one more file over (False: the helper is gone; the file stays the caller's)."""
        if not self._send(("file", file)):
            return False
        self.sent.append(file[0])
        return True

    def end(self) -> None:
        """No more files: the helper flushes its last batches and says "done"."""
        stdin = self.proc.stdin
        if stdin is not None and not stdin.closed:
            self._send(("end",))
            with contextlib.suppress(OSError):
                stdin.close()

    async def answers(self) -> AsyncIterator[FileDone]:
        """Each file's answer as it comes; ends when the helper has flushed every batch
        (``finished``) or stopped early (not ``finished``: the rest is the caller's)."""
        out = self.proc.stdout
        assert out is not None
        while True:
            try:
                msg = await asyncio.to_thread(_read_message, out)
            except (EOFError, OSError, pickle.PickleError, AttributeError, ValueError):
                return
            kind = msg[0] if isinstance(msg, tuple) and msg else None
            if kind == "file":
                _, path, refs, problem = msg
                yield FileDone(path, None if refs is None else [_ref(r) for r in refs], problem)
            elif kind == "done":
                _, self.bytes_sent, self.uploaded = msg
                self.finished = True
                return
            else:  # "failed", or anything unexpected
                return

    def stop(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _read_message(stream: IO[bytes]) -> Any:
    return pickle.load(stream)  # noqa: S301 (our own child process, over its stdout pipe)


def _ref(t: tuple[str, bytes, bytes, int]) -> chunkmod.ChunkRef:
    return chunkmod.ChunkRef(id=t[0], key=t[1], hash=t[2], size=t[3])


# -- the helper's side ---------------------------------------------------------------------


class _KnownBlobs:
    """The calls :class:`Uploader` makes on the state: reads from the parent's database
    (read-only), writes collected for the parent."""

    def __init__(self, path: str | None) -> None:
        self.db: Any = None
        if path is not None:
            import sqlite3

            from ..state import read_only_uri

            self.db = sqlite3.connect(read_only_uri(Path(path)), uri=True)
        self.added: list[str] = []

    def has_blobs(self) -> bool:
        # the parent gives no database on a first sync (nothing can be known yet); otherwise
        # blobs may be on the server (see State.has_blobs), so the helper asks the server
        return self.db is not None

    def begin_uploads(self) -> None:
        """The parent recorded it before starting this helper."""

    def known_blobs(self, ids: list[str]) -> set[str]:
        if self.db is None:
            return set()
        q = ",".join("?" * len(ids))
        return {r[0] for r in self.db.execute(f"SELECT id FROM blobs WHERE id IN ({q})", ids)}  # noqa: S608 (placeholders only)

    def add_blobs(self, ids: list[str]) -> None:
        self.added.extend(ids)


async def _run(job: Job, receive: Any, send: Any) -> None:
    from ..api import Api

    keys = SimpleNamespace(
        chunk_id_key=job.chunk_id_key, chunk_key_key=job.chunk_key_key, cdc_seed=job.cdc_seed
    )
    pipeline = ChunkPipeline(keys)
    known = _KnownBlobs(job.state_db)
    async with Api(job.server, job.token) as api:
        up = Uploader(api, known)  # type: ignore[arg-type]
        try:
            while (msg := await asyncio.to_thread(receive)) != ("end",):
                vault_path, disk_path, size, mtime_ns, ino = msg[1]
                try:
                    refs = await _upload_one(pipeline, up, disk_path, (size, mtime_ns, ino))
                except OSError as exc:
                    send(("file", vault_path, None, exc.strerror or str(exc)))
                    continue
                if refs is None:
                    send(("file", vault_path, None, "changed"))
                    continue
                send(("file", vault_path, [(r.id, r.key, r.hash, r.size) for r in refs], None))
            await up.flush()
        except BaseException:
            up.abort()
            raise
        finally:
            pipeline.close()
    send(("done", up.bytes_sent, known.added))


async def _upload_one(
    pipeline: Any, up: Any, disk_path: str, seen: tuple[int, int, int]
) -> list[chunkmod.ChunkRef] | None:
    """Seal and queue a file's chunks; None if it is not the file the scan saw or changed
    while read (the parent's rules for in-process uploads)."""
    try:
        with opened_as_seen(disk_path, seen, disk_path) as (fh, _):
            return await queue_chunks(pipeline, up, fh)
    except ContentChanged:
        return None


def _die_with_parent() -> None:
    """A parent killed outright (kill -9) must not leave this process uploading on its own:
    once it is gone (we are re-parented), stop at once."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> None:
    # load everything before waiting for the job: a helper may be started ahead of its job
    # (aiohttp and the chunker are imported lazily by the parent's modules)
    import aiohttp  # noqa: F401
    import pyfastcdc  # noqa: F401

    from vault_core._malloc import keep_freed_memory

    from .. import api  # noqa: F401

    keep_freed_memory()
    sys.setswitchinterval(SWITCH_INTERVAL)  # (as the parent's sync does while it transfers)
    _die_with_parent()

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        job = pickle.load(stdin)  # noqa: S301 (written by our parent process)
    except EOFError:
        return  # started ahead and not needed

    def send(msg: Any) -> None:
        pickle.dump(msg, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()

    try:
        asyncio.run(_run(job, lambda: pickle.load(stdin), send))  # noqa: S301 (our parent)
    except BaseException as exc:  # noqa: BLE001 (the parent takes over: it needs to know we stopped)
        with contextlib.suppress(Exception):
            send(("failed", type(exc).__name__))
        sys.exit(1)


if __name__ == "__main__":
    main()
