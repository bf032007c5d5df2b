"""One hostile world per test session, restored before every test.

Built once (about twenty seconds of real commands): a real server behind the tampering proxy;
an authority; the issuer ``mairie`` (certified by it, issuer role on the server); the owner
``jean`` with two devices, ``a`` and ``b``, both trusting the authority; the counsellor
``bouchra``; another user ``alice``. Jean's folder holds a few documents synced to both
devices; then device ``a`` adds ``lag/big.bin`` (several chunks), ``lag/small.txt`` and a
second version of ``notes.txt`` that device ``b`` has not pulled yet (three log entries
``b`` has never seen). Jean has a link grant on ``papiers/acte.txt`` and an account grant on
``dossier`` to bouchra, who opened it once (she pinned jean's key). Mairie has deposited a
document in jean's inbox and one in alice's, and sent jean a request.

Every test starts from exactly that state: server database and blobs, every profile and
folder, no proxy hook.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Server, World
from .mutants import BY_NAME
from .mutants import server_env as server_env_for
from .proxy import TamperProxy
from .storage import Storage

# The ``vault`` command runs inside the test process by default (the same entry point,
# ``vault_client.cli.main``, minus the interpreter start-up: about three times faster);
# HOSTILE_SUBPROCESS=1 runs every command as its own process instead.
IN_PROCESS = os.environ.get("HOSTILE_SUBPROCESS") != "1"


def det_bytes(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


BASE_FILES = {
    "papiers/acte.txt": b"acte de naissance de Jean\n",
    "papiers/avis.pdf": det_bytes(1, 600_000),
    "dossier/caf.txt": b"attestation caf\n",
    "dossier/loyer.txt": b"quittance de loyer\n",
    "notes.txt": b"notes v1\n",
}
LAG_FILES = {
    # More than 2 x CDC_MAX: at least three chunks whatever the vault's gear seed.
    "lag/big.bin": det_bytes(2, 2_300_000),
    "lag/small.txt": b"a small late file\n",
    "notes.txt": b"notes v2, not yet on device b\n",
}


MUTANT = os.environ.get("HOSTILE_MUTANT")  # see mutants.py (never set in CI)


def _build(root: Path) -> World:
    server_env = server_env_for(MUTANT, root) if MUTANT else {}
    server = Server(root / "server" / "data", env=server_env)
    server.start()
    proxy = TamperProxy(server.url)
    w = World(
        root=root, server=server, proxy=proxy, store=Storage(server.data), inprocess=IN_PROCESS
    )
    try:
        auth = w.device("auth")
        auth_pk = auth.last_line("authority", "init")
        a, c, x, m = (w.device(n) for n in ("a", "c", "x", "m"))
        a.ok("init", "--server", a.url, "--user", "jean", "--folder", str(a.folder))
        c.ok("init", "--server", c.url, "--user", "bouchra", "--folder", str(c.folder))
        x.ok("init", "--server", x.url, "--user", "alice", "--folder", str(x.folder))
        m.ok("init", "--server", m.url, "--user", "mairie", "--folder", str(m.folder))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "vault_server",
                "grant-issuer",
                "--data",
                str(server.data),
                "mairie",
            ],
            check=True,
            capture_output=True,
        )
        issuer_pk = m.last_line("issuer", "init", "--name", "Mairie de Lyon")
        cert = root / "mairie.cert.json"
        auth.ok(
            "authority",
            "certify",
            "--issuer-key",
            issuer_pk,
            "--name",
            "Mairie de Lyon",
            "--valid",
            "30d",
            "--out",
            str(cert),
        )
        m.ok("issuer", "set-cert", str(cert))
        a.ok("trust", "add", "--name", "Préfecture", "--", auth_pk)
        for rel, data in BASE_FILES.items():
            a.write(rel, data)
        a.ok("sync")
        b = w.device("b")
        b.ok("login", "--server", b.url, "--user", "jean", "--folder", str(b.folder))
        b.ok("trust", "add", "--name", "Préfecture", "--", auth_pk)
        b.ok("sync")
        for rel, data in LAG_FILES.items():
            a.write(rel, data)
        a.ok("sync")
        x.write("alice.txt", "alice's own file\n")
        x.ok("sync")
        doc = root / "acte-mairie.pdf"
        doc.write_bytes(b"%PDF-1.4 acte de naissance (mairie)\n" + det_bytes(3, 3000))
        dep_jean = m.last_line(
            "issuer",
            "deposit",
            "--to",
            "jean",
            "--type",
            "birth-certificate",
            str(doc),
            "--title",
            "Acte de naissance",
        )
        dep_alice = m.last_line(
            "issuer",
            "deposit",
            "--to",
            "alice",
            "--type",
            "tax-notice",
            str(doc),
            "--title",
            "Avis",
        )
        req = m.last_line(
            "issuer",
            "request",
            "--to",
            "jean",
            "--need",
            "proof-of-address",
            "--due",
            "2031-01-15",
            "--message",
            "Merci d'envoyer un justificatif",
        )
        link = a.last_line("share", "create", "papiers/acte.txt", "--expires", "1d")
        account_grant = a.last_line(
            "share", "create", "dossier", "--expires", "1d", "--to", "bouchra"
        )
        c.ok("redeem", account_grant, "--list")
        w.facts.update(
            auth_pk=auth_pk,
            issuer_pk=issuer_pk,
            cert=str(cert),
            doc=str(doc),
            deposit_jean=dep_jean,
            deposit_alice=dep_alice,
            request=req,
            link=link,
            link_grant=link.split("/s/")[1].split("#")[0],
            account_grant=account_grant,
            a_tree=a.tree(),
            b_tree=b.tree(),
            device_a=a.profile().device_id,
            device_b=b.profile().device_id,
        )
        w.snapshot("base")
    except BaseException:
        proxy.close()
        server.stop()
        raise
    return w


@pytest.fixture(scope="session")
def hostile_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    w = _build(root)
    mp = pytest.MonkeyPatch()
    if MUTANT and BY_NAME[MUTANT].client is not None:
        BY_NAME[MUTANT].client(mp)  # applied once the genuine world is built
    yield w
    mp.undo()
    for srv in w.extra_servers:
        srv.stop()
    w.proxy.close()
    w.server.stop()


@pytest.fixture
def world(hostile_world: World) -> Iterator[World]:
    hostile_world.restore("base")
    hostile_world.inprocess = IN_PROCESS
    yield hostile_world
    hostile_world.proxy.clear()
    for srv in hostile_world.extra_servers:
        srv.stop()
    hostile_world.extra_servers.clear()


@pytest.fixture(autouse=True)
def _mutant_deadline() -> Iterator[None]:
    """Under a mutant, a test that hangs (a check switched off can loop) fails instead."""
    if not MUTANT:
        yield
        return
    import signal

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError("test ran over its deadline under a mutant")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(150)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_DEBUG", raising=False)
    monkeypatch.delenv("VAULT_HOME", raising=False)
    os.environ.pop("VAULT_LINK_PASSWORD", None)
