"""Deterministic test vectors for protocol/SPEC.md.

``python -m protocol.make_vectors`` (from the repository root) rewrites
``protocol/vectors/*.json``; ``--check`` only compares and exits 1 on any difference.

Every "random" input (keys, seeds, nonces, ephemeral secrets) is derived from a fixed label
with :func:`det`, so the output is identical on every run and every machine. The vectors are
meant for independent implementations (e.g. JavaScript with libsodium-wrappers-sumo): each
case carries its inputs, its expected outputs and the intermediate values a reimplementation
needs (derived keys, associated data, signed messages), all spelled out in SPEC.md.

Conventions inside the files: byte strings are lowercase hex; fields ending in ``_text`` are
UTF-8 text (JSON documents byte-exact); fields ending in ``_b64u`` are base64url without
padding; integers are JSON numbers except 64-bit values, given as hex strings. A negative case
names the operation (``op``) that MUST fail and the error class (``error``) the Python core
raises (IntegrityError = opaque authentication failure, FormatError = malformed input,
WeakParameters = refused key-derivation parameters, RollbackError = rollback detected).

While building, this script re-derives every intermediate value from the SPEC's formulas and
asserts that the core produced the same bytes: a drift between spec and code stops it.

The generators live in ``protocol/vectors_gen/``, one module per format family, each beside
the SPEC.md section(s) it serves; this module is the single entry point that runs them in
order and writes (or checks) the files:

* ``common``: constants, :func:`det` and friends, the fixed :class:`World`, shared helpers;
* ``encoding``: "Conventions" (encoding.json);
* ``kdf_login``: "Key hierarchy", "Passphrases and the Argon2id floor", "Login proof"
  (kdf.json, login.json);
* ``bundle_identity``: "Bundle", "Public identity and fingerprint", "Primitives" (public keys),
  "Device certificates" (bundle.json, identity.json, public_keys.json, device_cert.json);
* ``chunk_manifest``: "Chunks", "Manifests" (chunk.json, manifest.json);
* ``log``: "File records", "Log" (log.json); ``paths``: "File records" (paths.json);
* ``seal``: "Primitives" (seal.json); ``grants``: "Grants" (grant.json);
* ``issuer_deposits``: "Issuer certificates", "Deposits", "Requests", "Appointments"
  (issuer_cert.json, deposit.json, request.json, request_answer.json, appointment.json);
* ``asks``: "Asks" (ask.json); ``trust``: "Trust invitations" (trust_invitation.json);
* ``recovery``: "Recovery key" (recovery.json);
* ``shamir``: "Recovery shares (Shamir, GF(256))" (shamir.json);
* ``recovery_contacts``: "Trusted contacts" (recovery_contacts.json);
* ``mandates``: "Mandates" (mandate.json);
* ``release``: "Release manifest (web access)" (release.json).

The family modules import only ``common`` and vault_core (never each other, nor this module).
The builders share one World, built once (the log builder adds a third device to it), and run
in the order of SPEC.md's sections.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from .vectors_gen.asks import build_ask
from .vectors_gen.bundle_identity import (
    build_bundle,
    build_device_cert,
    build_identity,
    build_public_keys,
)
from .vectors_gen.chunk_manifest import build_chunk, build_manifest
from .vectors_gen.common import JSON, World, blake2b_stream, det
from .vectors_gen.encoding import build_encoding
from .vectors_gen.grants import build_grant
from .vectors_gen.issuer_deposits import (
    build_appointment,
    build_deposit,
    build_issuer,
    build_request,
    build_request_answer,
)
from .vectors_gen.kdf_login import build_kdf, build_login
from .vectors_gen.log import build_log
from .vectors_gen.mandates import build_mandate
from .vectors_gen.paths import build_paths
from .vectors_gen.recovery import build_recovery
from .vectors_gen.recovery_contacts import build_recovery_contacts
from .vectors_gen.release import build_release
from .vectors_gen.seal import build_seal
from .vectors_gen.shamir import build_shamir
from .vectors_gen.trust import build_trust

__all__ = ["VECTORS_DIR", "blake2b_stream", "build_all", "det", "main", "render"]

VECTORS_DIR = Path(__file__).resolve().parent / "vectors"


# -- driver --------------------------------------------------------------------------------


def build_all() -> dict[str, JSON]:
    w = World()
    builders: list[tuple[str, Callable[[], JSON]]] = [
        ("encoding", build_encoding),
        ("kdf", lambda: build_kdf(w)),
        ("login", lambda: build_login(w)),
        ("bundle", lambda: build_bundle(w)),
        ("identity", lambda: build_identity(w)),
        ("public_keys", lambda: build_public_keys(w)),
        ("device_cert", lambda: build_device_cert(w)),
        ("chunk", lambda: build_chunk(w)),
        ("manifest", lambda: build_manifest(w)),
        ("log", lambda: build_log(w)),
        ("paths", build_paths),
        ("seal", lambda: build_seal(w)),
        ("grant", lambda: build_grant(w)),
        ("issuer_cert", lambda: build_issuer(w)),
        ("trust_invitation", build_trust),
        ("deposit", lambda: build_deposit(w)),
        ("request", lambda: build_request(w)),
        ("request_answer", lambda: build_request_answer(w)),
        ("appointment", lambda: build_appointment(w)),
        ("ask", lambda: build_ask(w)),
        ("recovery", lambda: build_recovery(w)),
        ("shamir", build_shamir),
        ("recovery_contacts", lambda: build_recovery_contacts(w)),
        ("mandate", lambda: build_mandate(w)),
        ("release", build_release),
    ]
    return {name: fn() for name, fn in builders}


def render(doc: JSON) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate protocol/vectors/*.json")
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    args = ap.parse_args(argv)
    docs = build_all()
    differ = []
    VECTORS_DIR.mkdir(exist_ok=True)
    for name, doc in docs.items():
        path = VECTORS_DIR / f"{name}.json"
        text = render(doc)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                differ.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if differ:
        print("vectors differ: " + ", ".join(differ), file=sys.stderr)
        return 1
    if not args.check:
        print(f"wrote {len(docs)} files to {VECTORS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
