"""Test helper: make a synced document of a vault *certified*, as if it had come in as a deposit.

Usage: python tests/web/certify.py --home HOME --path VAULT_PATH [--name ISSUER] [--type TYPE]
(VAULT_PASSPHRASE in the environment). A throwaway authority certifies a throwaway issuer, the
issuer signs a deposit statement for the document's bytes, addressed to the owner's identity,
and a new version of the file record is appended with that proof as its ``cert`` and the
document type, exactly what accepting a deposit writes (SPEC §Deposits). Prints JSON:
``{"authority_pk": b64u, "issuer": name, "other_authority_pk": b64u}`` (the second authority
signs nothing: pinning it alone must not certify the document).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import replace
from pathlib import Path

from vault_client.profile import Profile
from vault_client.session import open_api
from vault_client.sync import SyncEngine, Uploader
from vault_core import deposits
from vault_core.encoding import b64u
from vault_core.errors import Conflict


async def certify(home: Path, vault_path: str, issuer_name: str, doc_type: str) -> dict[str, str]:
    profile = Profile(home)
    profile.require_account()
    profile.unlock(os.environ["VAULT_PASSPHRASE"])  # (nothing below the faces prompts)
    api = await open_api(profile)
    now = int(time.time())
    authority_pk, authority_sk = deposits.authority_keypair(os.urandom(32))
    other_pk, _ = deposits.authority_keypair(os.urandom(32))
    issuer_pk, issuer_sk = deposits.issuer_keypair(os.urandom(32))
    cert = deposits.IssuerCert.issue(
        authority_sk, authority_pk, issuer_pk, issuer_name, now - 86400, now + 365 * 86400
    )
    async with api:
        engine = SyncEngine(profile, api)
        try:
            for _ in range(5):
                v = await engine.pull()
                head = engine.state.heads().get(vault_path)
                if head is None or head.deleted:
                    raise SystemExit(f"{vault_path} is not in the vault")
                document = (profile.folder / vault_path).read_bytes()
                statement = deposits.DepositStatement(
                    deposit_id=os.urandom(16).hex(),
                    to=profile.handle,
                    to_sign_pk=profile.bundle.identity_sign[0],
                    doc_sha256=deposits.document_hash(document),
                    doc_type=doc_type,
                    title=vault_path.rsplit("/", 1)[-1],
                    filename=vault_path.rsplit("/", 1)[-1],
                    issued=now - 60,
                    size=len(document),
                    issuer_pk=issuer_pk,
                )
                proof = deposits.DepositProof.sign(statement, issuer_sk, cert)
                source = replace(
                    head,
                    doc_type=doc_type,
                    certificate={"proof": proof.to_json(), "received": now},
                )
                up = Uploader(api, engine.state)
                rec, refs = await engine.republish(
                    up, source, vault_path, head.file_id, head.version
                )
                await up.flush()
                try:
                    await engine.append(v, [rec], [refs])
                except Conflict:
                    continue
                break
            else:
                raise SystemExit("the log kept moving")
        finally:
            engine.close()
    return {
        "authority_pk": b64u(authority_pk),
        "issuer": issuer_name,
        "other_authority_pk": b64u(other_pk),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--path", required=True)
    ap.add_argument("--name", default="Mairie de Villeurbanne – État civil")
    ap.add_argument("--type", default="birth-certificate")
    a = ap.parse_args()
    print(json.dumps(asyncio.run(certify(a.home, a.path, a.name, a.type))))


if __name__ == "__main__":
    main()
