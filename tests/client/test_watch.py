"""`vault sync --watch`: local edits and server events propagate on their own, and the loop
survives the server going away and coming back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from .conftest import PASS


def _watch(dev) -> subprocess.Popen[str]:
    env = {**os.environ, "VAULT_PASSPHRASE": PASS, **dev.env}
    return subprocess.Popen(
        [sys.executable, "-m", "vault_client.cli", "--home", str(dev.home), "sync", "--watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_watch_propagates_and_survives_server_restart(server, account, second_device):
    a, _ = account()
    b = second_device()
    wa, wb = _watch(a), _watch(b)
    try:
        time.sleep(2)
        a.write("lettre.txt", "bonjour")
        assert _wait_for(
            lambda: (b.folder / "lettre.txt").exists() and b.read("lettre.txt") == b"bonjour"
        ), "edit did not reach B"
        b.write("reponse.txt", "merci")
        assert _wait_for(lambda: (a.folder / "reponse.txt").exists()), "edit did not reach A"
        server.stop()
        a.write("hors-ligne.txt", "écrit pendant la panne")
        time.sleep(2)
        assert wa.poll() is None and wb.poll() is None, "watch died with the server"
        server.start()
        assert _wait_for(lambda: (b.folder / "hors-ligne.txt").exists(), timeout=60), (
            "change made during the outage never arrived"
        )
    finally:
        for p in (wa, wb):
            p.send_signal(signal.SIGINT)
            try:
                p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def test_owner_told_when_a_share_is_opened(server, account, make_device, tmp_path):
    a, _ = account()
    a.write("acte.txt", "acte")
    a.sync()
    link = a.run("share", "create", "acte.txt", "--expires", "1h").stdout.strip().splitlines()[-1]
    gid = link.split("/s/")[1].split("#")[0]
    wa = _watch(a)
    try:
        time.sleep(2)
        make_device("bouchra").run("redeem", link, "--out", str(tmp_path / "out"))
        time.sleep(2)
    finally:
        wa.send_signal(signal.SIGINT)
        _, err = wa.communicate(timeout=10)
    assert f"share {gid} was just accessed" in err
