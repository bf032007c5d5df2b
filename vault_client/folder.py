"""The synced folder on disk: safe paths, scanning, ignore rules, atomic writes.

* A vault path (already checked by ``vault_core.log.check_path``) is joined to the folder
  component by component; no component may be a symlink, so a decrypted name can never
  make the client read or write outside the folder.
* Scanning walks the folder without following symlinks, skips ignored, temporary and partial
  files, and hashes only files whose (size, mtime, inode) changed since the last scan.
* Downloads are written into ``.vault/tmp`` inside the folder, fsynced, then renamed over the
  target: a reader never sees a half-written file.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vault_core.errors import FormatError, LocalError
from vault_core.log import check_path

CONTROL_DIR = ".vault"
IGNORE_FILE = ".vaultignore"
DEFAULT_IGNORES = (
    CONTROL_DIR,
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
    "*.tmp",
    "*.part",
    "*.partial",
    "*.crdownload",
    "~$*",
    ".~lock.*#",
    "*.swp",
    "*~",
)


@dataclass(frozen=True)
class LocalFile:
    path: str
    size: int
    mtime_ns: int
    ino: int


class Folder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._root_str = str(root).rstrip(os.sep)  # "/" becomes "": parts add the separator
        self.patterns = list(DEFAULT_IGNORES)
        ignore = root / IGNORE_FILE
        try:
            if ignore.is_file() and not ignore.is_symlink():
                for line in ignore.read_text("utf-8", errors="replace").splitlines():
                    line = line.strip()
                    if line and not line.startswith("#"):
                        self.patterns.append(line.rstrip("/"))
        except OSError:
            pass
        self._compile()

    def _compile(self) -> None:
        """One regex for name patterns, one for path patterns (same meaning as fnmatchcase)."""
        names = [fnmatch.translate(p) for p in self.patterns if "/" not in p]
        paths = [fnmatch.translate(p.lstrip("/")) for p in self.patterns if "/" in p]
        never = r"(?!x)x"
        self._name_re = re.compile("|".join(names) or never)
        self._path_re = re.compile("|".join(paths) or never)

    @property
    def tmp_dir(self) -> Path:
        d = self.root / CONTROL_DIR / "tmp"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def ignored(self, rel: str) -> bool:
        if self._path_re.match(rel):
            return True
        return any(self._name_re.match(part) for part in rel.split("/"))

    # -- paths ---------------------------------------------------------------------------

    def join(self, vault_path: str, create_parents: bool = False) -> Path:
        """Safe join: refuses traversal names and symlinked components."""
        try:
            check_path(vault_path)
        except FormatError:
            raise LocalError(f"refused unsafe file name {vault_path!r}") from None
        parts = vault_path.split("/")
        current = self._root_str  # plain strings: pathlib costs more than the syscalls here
        for part in parts[:-1]:
            current = f"{current}{os.sep}{part}"
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                if not create_parents:
                    return self.root.joinpath(*parts)
                os.mkdir(current, 0o700)
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise LocalError(f"{vault_path!r}: a parent is not a folder (or is a symlink)")
        target = f"{current}{os.sep}{parts[-1]}"
        try:
            if stat.S_ISLNK(os.lstat(target).st_mode):
                raise LocalError(f"{vault_path!r} is a symlink on disk; refusing to follow it")
        except FileNotFoundError:
            pass
        return Path(target)

    def rel(self, path: Path) -> str:
        rel = path.resolve().relative_to(self.root.resolve()).as_posix()
        return check_path(rel)

    # -- scanning ------------------------------------------------------------------------

    def walk(self, warn: Callable[[str], None] | None = None) -> Iterator[LocalFile]:
        stack = [("", self.root)]
        while stack:
            prefix, directory = stack.pop()
            try:
                entries = list(os.scandir(directory))
            except OSError as exc:
                if warn:
                    warn(f"cannot read folder {directory}: {exc.strerror}")
                continue
            name_re, path_re = self._name_re.match, self._path_re.match
            for entry in entries:
                rel = f"{prefix}{entry.name}"
                # the parents were checked when their folders were entered
                if name_re(entry.name) or path_re(rel):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    stack.append((rel + "/", Path(entry.path)))
                elif stat.S_ISREG(st.st_mode):
                    try:
                        check_path(rel)
                    except FormatError:
                        if warn:
                            warn(f"skipped {rel!r}: name not allowed in the vault")
                        continue
                    yield LocalFile(rel, st.st_size, st.st_mtime_ns, st.st_ino)
                # symlinks, sockets, devices: never followed, never synced

    def stat(self, vault_path: str) -> LocalFile | None:
        try:
            st = os.lstat(self.join(vault_path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return LocalFile(vault_path, st.st_size, st.st_mtime_ns, st.st_ino)

    # -- writing -------------------------------------------------------------------------

    def temp_file(self) -> tuple[int, Path]:
        d = self.tmp_dir
        name = d / f"dl-{os.getpid()}-{os.urandom(6).hex()}.part"
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return fd, name

    def install(self, tmp: Path, vault_path: str, mtime_ms: int) -> LocalFile:
        """Move a verified temp file into place atomically."""
        target = self.join(vault_path, create_parents=True)
        if target.is_dir() and not target.is_symlink():
            try:
                os.rmdir(target)  # an empty folder (its files deleted) holds nothing synced
            except OSError:
                raise LocalError(f"{vault_path!r} is a folder on disk") from None
        os.utime(tmp, ns=(mtime_ms * 1_000_000, mtime_ms * 1_000_000))
        os.replace(tmp, target)
        st = os.lstat(target)
        return LocalFile(vault_path, st.st_size, st.st_mtime_ns, st.st_ino)

    def remove(self, vault_path: str) -> None:
        target = self.join(vault_path)
        try:
            os.unlink(target)
        except FileNotFoundError:
            return
        # prune now-empty parent folders (never the root)
        parent = target.parent
        root = self.root.resolve()
        while parent.resolve() != root:
            try:
                os.rmdir(parent)
            except OSError:
                break
            parent = parent.parent

    def move(self, src: str, dst: str) -> None:
        os.replace(self.join(src), self.join(dst, create_parents=True))
