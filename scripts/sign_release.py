"""Signs a release of the web access page (SPEC §Release manifest): reads the build's
``assets.json`` (every file checked against its hash first), writes ``release.json`` beside it,
which vault-server serves at ``/.well-known/vault-release.json`` and ``vault web check URL``
verifies against the release keys of ``vault_client/release_keys.py``.

    python scripts/sign_release.py --key FILE [--dir DIR] [--release NAME]
    python scripts/sign_release.py --new-key FILE      (a new release key; prints its public half)

The key file is the 32-byte seed of the release key (Ed25519), owner-only (0600). It never
goes into the repository nor onto a server: a maintainer keeps it offline and signs after the
last build of the page (``scripts/build-web.sh``); docs/DEPLOYMENT.md, "Web access releases",
says how and how the key is rotated. Exit status 1 with one line when the build does not match
its ``assets.json``, a page refers to a file the build does not list, or the key is unusable.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import stat
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "vault_server" / "static" / "app"


def fail(message: str) -> None:
    print(f"sign_release: {message}", file=sys.stderr)
    sys.exit(1)


def new_key(path: Path) -> bytes:
    seed = os.urandom(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{path} exists: a release key is never overwritten")
    with os.fdopen(fd, "wb") as fh:
        fh.write(seed)
    return seed


def read_key(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        seed = path.read_bytes()
    except OSError as e:
        fail(f"cannot read the release key {path}: {e.strerror or e}")
    if len(seed) != 32:
        fail(f"{path} is not a release key (a 32-byte seed)")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        fail(f"{path} is readable by others: chmod 600 {path}")
    return seed


def sign(seed: bytes, directory: Path, name: str) -> None:
    sys.path.insert(0, str(ROOT))
    from vault_client.release_keys import trusted_keys
    from vault_core import release
    from vault_core.encoding import b64u
    from vault_core.errors import VaultError
    from vault_server.routes_webapp import RELEASE_FILE, check_release, load_build

    try:
        files = load_build(directory)  # every file against assets.json
    except VaultError:
        fail(f"{directory} is not a complete build matching its assets.json (build-web.sh)")
    for page in release.PAGE_PATHS:
        for ref in release.asset_refs(files[page][0].decode("utf-8", errors="replace")):
            if ref not in files:
                fail(f"{page} refers to /assets/{ref}, which the build does not list")
    hashes = {n: hashlib.sha256(body).hexdigest() for n, (body, _) in files.items()}
    pk, sk = release.release_keypair(seed)
    try:
        signed = release.Release.issue(sk, pk, name, int(time.time()), hashes)
    except VaultError as e:
        fail(e.message)
    out = directory / RELEASE_FILE
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    tmp.write_bytes(signed.encode() + b"\n")
    os.replace(tmp, out)
    if check_release(directory, files)[1]:  # what the server will check
        fail(f"{out} does not list the build it was made from")
    print(f"release {name} signed: {len(hashes)} files, key {b64u(pk)}, {out}", file=sys.stderr)
    if pk not in trusted_keys():
        print(
            "sign_release: this key is not in vault_client/release_keys.py: clients will "
            "refuse this release until its public half is added there",
            file=sys.stderr,
        )


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Sign a release of the web access page.")
    ap.add_argument("--key", type=Path, help="the release key (a 32-byte seed file, 0600)")
    ap.add_argument("--new-key", type=Path, help="create a release key here (0600)")
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the build to sign")
    ap.add_argument("--release", default=None, help="the release's name (default: version)")
    args = ap.parse_args(argv)
    if args.new_key is None and args.key is None:
        ap.error("--key FILE or --new-key FILE")
    if args.new_key is not None:
        sys.path.insert(0, str(ROOT))
        from vault_core.encoding import b64u
        from vault_core.release import release_keypair

        pk, _ = release_keypair(new_key(args.new_key))
        print(f"new release key in {args.new_key}; its public half, for release_keys.py:",
              file=sys.stderr)  # fmt: skip
        print(b64u(pk))
    if args.key is not None:
        sign(read_key(args.key), args.dir.resolve(), args.release or project_version())
    return 0


if __name__ == "__main__":
    sys.exit(main())
