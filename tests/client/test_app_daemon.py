"""The desktop app's daemon (``vault app``) as a real process against a real server, probed
with plain HTTP: the local server's defences (Host, session, Origin + CSRF, launch token, CSP,
no CORS, documents sandboxed), the API over the service layer, live events, one daemon per
profile, a clean stop."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .test_deposits import grant_issuer

STRONG = "une phrase de passe assez longue pour le coffre"


class App:
    """One ``vault app --no-browser`` process and a page's view of it (cookie, headers)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        env = {**os.environ, "VAULT_DEVICE_NAME": "app"}
        env.pop("VAULT_PASSPHRASE", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vault_client.cli", "--home", str(home), "app", "--no-browser"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.proc.stderr.read()
        self.port = int(self.url.split(":")[2].split("/")[0])
        self.token = self.url.split("#", 1)[1]
        self.cookie: str | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        host: str | None = None,
        origin: str | bool | None = True,
        csrf: bool = True,
        cookie: bool = True,
        raw: bytes | None = None,
        content_type: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Host": host or f"127.0.0.1:{self.port}", **(extra or {})}
        if method not in ("GET", "HEAD") and origin:
            headers["Origin"] = self.origin if origin is True else str(origin)
        if method not in ("GET", "HEAD") and csrf:
            headers["X-Vault-CSRF"] = "1"
        if cookie and self.cookie:
            headers["Cookie"] = f"vault_session={self.cookie}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=data, headers=headers)
        res = conn.getresponse()
        out = res.read()
        hdrs = {k.lower(): v for k, v in res.getheaders()}
        conn.close()
        return res.status, hdrs, out

    def json(self, method: str, path: str, body: Any = None, status: int = 200, **kw: Any) -> Any:
        code, _, out = self.request(method, path, body, **kw)
        assert code == status, (code, out)
        return json.loads(out)

    def sign_in(self) -> None:
        code, hdrs, out = self.request("POST", "/api/session", {"token": self.token})
        assert code == 200, out
        cookie = hdrs["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        self.cookie = cookie.split(";", 1)[0].split("=", 1)[1]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        return self.proc.returncode


@pytest.fixture
def app_of(tmp_path):
    apps: list[App] = []

    def start(name: str = "app") -> App:
        a = App(tmp_path / f"home-{name}")
        apps.append(a)
        return a

    yield start
    for a in apps:
        a.stop()


def _wait(predicate, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _create(app: App, server, handle: str = "jean") -> dict[str, Any]:
    folder = app.home.parent / f"folder-{handle}"
    return app.json(
        "POST",
        "/api/create",
        {"server": server.url, "handle": handle, "passphrase": STRONG, "folder": str(folder)},
    )


def _listening_addresses(port: int) -> set[str]:
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                out.add(addr)
    return out


def test_local_server_defences(app_of, server):
    app = app_of()
    assert _listening_addresses(app.port) == {"0100007F"}  # 127.0.0.1 only

    # no session: every API request is refused, the page's shell is not
    assert app.request("GET", "/api/state")[0] == 401
    code, hdrs, _ = app.request("GET", "/")
    assert code == 200
    assert hdrs["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )
    assert hdrs["x-content-type-options"] == "nosniff"

    # the launch token: foreign origin or no CSRF header cannot trade it
    assert app.request("POST", "/api/session", {"token": app.token}, origin="http://evil")[0] == 403
    assert app.request("POST", "/api/session", {"token": app.token}, origin=False)[0] == 403
    assert app.request("POST", "/api/session", {"token": app.token}, csrf=False)[0] == 403
    app.sign_in()
    # single use
    code, _, out = app.request("POST", "/api/session", {"token": app.token}, cookie=False)
    assert code == 401 and "lien de lancement" in json.loads(out)["message"]
    assert app.request("POST", "/api/session", {"token": "x" * 43}, cookie=False)[0] == 401

    # with a session: DNS rebinding (another Host) is still refused
    assert app.json("GET", "/api/state")["profile"] == "empty"
    for host in (
        "evil.example",
        f"evil.example:{app.port}",
        "127.0.0.1",
        f"127.0.0.1:{app.port + 1}",
    ):
        assert app.request("GET", "/api/state", host=host)[0] == 403
    assert app.request("GET", "/api/state", host=f"localhost:{app.port}")[0] == 200

    # state changes need the app's Origin and the CSRF header, whatever the cookie
    assert app.request("POST", "/api/lock", {}, origin="http://evil.example")[0] == 403
    assert app.request("POST", "/api/lock", {}, origin="null")[0] == 403
    assert app.request("POST", "/api/lock", {}, origin=False)[0] == 403
    assert app.request("POST", "/api/lock", {}, csrf=False)[0] == 403
    assert app.request("POST", "/api/lock", {})[0] == 200

    # no CORS at all, not even for a preflight
    code, hdrs, _ = app.request(
        "OPTIONS",
        "/api/state",
        extra={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert not [h for h in hdrs if h.startswith("access-control-")]
    code, hdrs, _ = app.request("GET", "/api/state", extra={"Origin": "http://evil.example"})
    assert not [h for h in hdrs if h.startswith("access-control-")]

    # bad input never kills the daemon: junk bodies answer 4xx, the daemon still answers
    for raw in (b"{", b"[]", b"\xff\xfe", b'{"passphrase": 5}', b"x" * 3_000_000):
        assert 400 <= app.request("POST", "/api/unlock", raw=raw)[0] < 500
    assert app.json("GET", "/api/state")["profile"] == "empty"


def test_launch_tokens_expire():
    from vault_client.app.security import LAUNCH_TTL, Guard

    now = [1000.0]
    guard = Guard(clock=lambda: now[0])
    token = guard.new_launch_token()
    now[0] += LAUNCH_TTL + 1
    assert guard.exchange(token) is None
    fresh = guard.new_launch_token()
    session = guard.exchange(fresh)
    assert session and guard.valid_session(session) and not guard.valid_session(fresh)
    assert guard.exchange(fresh) is None  # spent


def test_onboarding_documents_and_a_second_device(app_of, server, make_device):
    app = app_of()
    app.sign_in()
    weak = app.json(
        "POST",
        "/api/create",
        {"server": server.url, "handle": "jean", "passphrase": "azerty123", "folder": ""},
        status=400,
    )
    assert weak["message"].startswith("Au moins 12 caractères")
    check = app.json("POST", "/api/passphrase-check", {"passphrase": STRONG, "handle": "jean"})
    assert check["ok"] and check["reason"] is None

    created = _create(app, server)
    assert len(created["recovery_key"]) > 40
    assert app.json("GET", "/api/state")["profile"] == "unlocked"

    # add documents: several files, one in a sub-folder, into "papiers"
    boundary = uuid.uuid4().hex
    parts = [(None, "folder", b"papiers"), ("acte.pdf", "files", b"%PDF acte"),
             ("sous/avis.txt", "files", b"avis d'imposition")]  # fmt: skip
    body = b""
    for filename, name, data in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    added = app.json(
        "POST", "/api/documents/upload", raw=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )  # fmt: skip
    assert added == {"added": ["papiers/acte.pdf", "papiers/sous/avis.txt"]}
    folder = Path(created["folder"])
    assert (folder / "papiers" / "sous" / "avis.txt").read_bytes() == b"avis d'imposition"

    # the daemon syncs them (watch mode); the status region and the document list follow
    _wait(
        lambda: (
            {d["path"] for d in app.json("GET", "/api/documents")}
            == {"papiers/acte.pdf", "papiers/sous/avis.txt"}
        ),
        what="the uploaded documents in the vault",
    )
    assert app.json("GET", "/api/status")["state"] in ("idle", "syncing")
    found = app.json("GET", "/api/documents?q=AVIS")
    assert [d["name"] for d in found] == ["avis.txt"]

    # a second device of the same account sees them
    dev = make_device("B")
    dev.run("login", "--server", server.url, "--user", "jean", "--folder", str(dev.folder),
            env={"VAULT_PASSPHRASE": STRONG})  # fmt: skip
    dev.passphrase = STRONG
    dev.sync()
    assert dev.read("papiers/acte.pdf") == b"%PDF acte"

    # a document from the folder: a fixed safe type, sandboxed
    (folder / "page.html").write_bytes(b"<script>alert(document.cookie)</script>")
    _wait(lambda: any(d["path"] == "page.html" for d in app.json("GET", "/api/documents")),
          what="page.html synced")  # fmt: skip
    code, hdrs, out = app.request("GET", "/api/documents/file?path=page.html&inline=1")
    assert code == 200 and out.startswith(b"<script>")
    assert hdrs["content-type"] == "application/octet-stream"
    assert hdrs["content-security-policy"].startswith("sandbox")
    assert hdrs["content-disposition"].startswith("attachment")
    code, hdrs, _ = app.request("GET", "/api/documents/file?path=papiers/acte.pdf&inline=1")
    assert hdrs["content-type"] == "application/pdf" and hdrs["content-disposition"].startswith(
        "inline"
    )
    for bad in ("../../etc/passwd", "/etc/passwd", ".vault/state.db"):
        assert app.request("GET", f"/api/documents/file?path={bad}")[0] in (400, 404)

    # lock: the keys are gone; a wrong passphrase says so in French and changes nothing
    app.json("POST", "/api/lock", {})
    assert app.json("GET", "/api/state")["profile"] == "locked"
    assert app.json("GET", "/api/documents", status=401)["code"] == "locked"
    wrong = app.json("POST", "/api/unlock", {"passphrase": "pas la bonne"}, status=401)
    assert wrong["message"] == "La phrase de passe est incorrecte."
    assert app.json("GET", "/api/state")["profile"] == "locked"
    app.json("POST", "/api/unlock", {"passphrase": STRONG})
    assert len(app.json("GET", "/api/documents")) == 3

    # Exporter tout mon coffre: a zip the browser saves, nothing left in the daemon
    code, hdrs, out = app.request("GET", "/api/export")
    assert code == 200 and hdrs["content-type"] == "application/zip"
    assert hdrs["content-disposition"].startswith("attachment; filename*=UTF-8''coffre-jean-")
    with zipfile.ZipFile(io.BytesIO(out)) as z:
        names = set(z.namelist())
        assert {"manifest.json", "manifest.csv", "documents/papiers/acte.pdf"} <= names
        assert z.read("documents/papiers/sous/avis.txt") == b"avis d'imposition"
    # removed as soon as the last byte is sent (the handler's cleanup may run just after
    # this client has read it)
    deadline = time.monotonic() + 10
    while any((app.home / "tmp").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any((app.home / "tmp").iterdir())


def test_share_redeemed_with_a_live_event_then_revoked(app_of, server, make_device, tmp_path):
    app = app_of()
    app.sign_in()
    created = _create(app, server)
    folder = Path(created["folder"])
    (folder / "papiers").mkdir()
    (folder / "papiers" / "acte.txt").write_bytes(b"acte de naissance")
    app.json("POST", "/api/sync", {})
    _wait(lambda: app.json("GET", "/api/documents"), what="the document synced")

    events: list[dict[str, Any]] = []
    stream = threading.Thread(target=_read_events, args=(app, events), daemon=True)
    stream.start()
    time.sleep(0.5)

    share = app.json("POST", "/api/shares", {"paths": ["papiers"], "expires_in": 3600,
                                            "max_uses": 3})  # fmt: skip
    assert share["link"].startswith(server.url + "/s/")
    listed = app.json("GET", "/api/shares")
    assert listed[0]["documents"] == ["papiers/acte.txt"] and listed[0]["remaining_uses"] == 3

    counsellor = make_device("C")
    counsellor.run("redeem", share["link"], "--out", str(tmp_path / "out"))
    assert (tmp_path / "out" / "papiers" / "acte.txt").read_bytes() == b"acte de naissance"
    opened = _wait(
        lambda: [e for e in events if e["kind"] == "share.opened"], timeout=5,
        what="the share.opened event within 5 s",
    )  # fmt: skip
    assert opened[0]["data"]["grant"] == share["grant_id"]
    # a page opened later still sees it (the daemon keeps the last notices)
    kept = app.json("GET", "/api/notifications")
    opened_kept = [n["data"].get("grant") for n in kept if n["kind"] == "share.opened"]
    assert opened_kept and set(opened_kept) == {share["grant_id"]}
    assert app.json("GET", f"/api/notifications?after={kept[-1]['id']}") == []
    log = app.json("GET", f"/api/shares/{share['grant_id']}/log")
    assert "papiers/acte.txt" in [e["document"] for e in log]

    app.json("DELETE", f"/api/shares/{share['grant_id']}")
    res = counsellor.run("redeem", share["link"], "--out", str(tmp_path / "out2"), check=False)
    assert res.returncode == 5


def _read_events(app: App, sink: list[dict[str, Any]]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=120)
    headers = {"Host": f"127.0.0.1:{app.port}", "Cookie": f"vault_session={app.cookie}"}
    conn.request("GET", "/api/events", headers=headers)
    res = conn.getresponse()
    assert res.status == 200 and res.getheader("Content-Type") == "text/event-stream"
    while True:
        line = res.fp.readline()
        if not line:
            return
        if line.startswith(b"data: "):
            sink.append(json.loads(line[6:]))


def _certified_issuer(app: App, server, account, make_device, tmp_path: Path) -> Any:
    """The account ``mairie`` with an issuer key certified by an authority the app trusts."""
    mairie, _ = account("mairie", name="M")
    grant_issuer(server, "mairie")
    auth = make_device("authority")
    auth_pk = auth.run("authority", "init").stdout.strip().splitlines()[-1]
    issuer_pk = mairie.run("issuer", "init", "--name", "Mairie").stdout.strip().splitlines()[-1]
    cert = tmp_path / "cert.json"
    auth.run("authority", "certify", "--issuer-key", issuer_pk, "--name", "Mairie",
             "--out", str(cert))  # fmt: skip
    mairie.run("issuer", "set-cert", str(cert))
    app.json("POST", "/api/trust", {"public_key": auth_pk, "name": "Préfecture"})
    return mairie


def test_deposited_svg_never_runs_in_the_app(app_of, server, account, make_device, tmp_path):
    app = app_of()
    app.sign_in()
    _create(app, server)
    mairie = _certified_issuer(app, server, account, make_device, tmp_path)
    svg = tmp_path / "logo.svg"
    svg.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    dep_id = mairie.run("issuer", "deposit", "--to", "jean", "--type", "letter", str(svg))
    dep_id = dep_id.stdout.strip().splitlines()[-1]

    listed = app.json("GET", "/api/inbox")
    assert [(d["id"], d["certified"], d["issuer"]) for d in listed] == [(dep_id, True, "Mairie")]
    code, hdrs, out = app.request("GET", f"/api/inbox/{dep_id}/file?inline=1")
    assert code == 200 and b"<script>" in out
    assert hdrs["content-type"] == "application/octet-stream"
    assert hdrs["content-security-policy"].startswith("sandbox")
    assert hdrs["content-disposition"].startswith("attachment")

    accepted = app.json("POST", f"/api/inbox/{dep_id}/accept", {})
    assert accepted["path"] == "Courrier/Mairie/logo.svg"
    assert app.json("GET", "/api/inbox") == []
    docs = {d["path"]: d for d in app.json("GET", "/api/documents")}
    assert docs["Courrier/Mairie/logo.svg"]["certified_by"] == "Mairie"


def test_one_daemon_per_profile_and_a_clean_stop(app_of, server):
    app = app_of()
    app.sign_in()
    _create(app, server)
    again = subprocess.run(
        # the form, `vault app --home DIR`: the same profile, so the running daemon
        [sys.executable, "-m", "vault_client.cli", "app", "--home", str(app.home), "--no-browser"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert again.returncode == 0
    url = again.stdout.strip().splitlines()[-1]
    assert url.startswith(f"http://127.0.0.1:{app.port}/#") and url != app.url
    second = App.__new__(App)
    second.port, second.token, second.cookie = app.port, url.split("#", 1)[1], None
    second.sign_in()  # the fresh token opens a session on the running daemon
    assert second.json("GET", "/api/state")["profile"] == "unlocked"

    assert app.stop() == 0
    assert "Traceback" not in app.proc.stderr.read()
    assert not (app.home / "app.json").exists() and not (app.home / "tmp").exists()


def test_a_reminder_outlives_a_lock_and_a_restart_without_nagging(
    app_of, server, account, make_device, tmp_path
):
    """A request due tomorrow is announced once (a notice the page shows); a lock keeps it (its
    names come back at unlock); a restarted daemon shows it again (the page of a restarted app
    has not seen it) without recording it again: the owner's interval still holds."""
    app = app_of()
    app.sign_in()
    _create(app, server)
    mairie = _certified_issuer(app, server, account, make_device, tmp_path)
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    mairie.run("issuer", "request", "--to", "jean", "--need", "proof-of-address",
               "--due", tomorrow, "--message", "Un justificatif de domicile.")  # fmt: skip

    def reminders() -> list[dict[str, Any]]:
        return [n for n in app.json("GET", "/api/notifications") if n["kind"] == "reminder"]

    # the watch's first reminder check runs at unlock: the request was not there yet; a new
    # unlock starts the watch again, and its first check finds the request due
    app.json("POST", "/api/lock", {})
    app.json("POST", "/api/unlock", {"passphrase": STRONG})
    (first,) = _wait(reminders, what="the reminder of the request due tomorrow")
    assert "proof-of-address" in first["text"]
    config = json.loads((app.home / "config.json").read_text())
    recorded = config["reminded"][first["data"]["id"]]

    app.json("POST", "/api/lock", {})
    assert app.json("GET", "/api/state")["profile"] == "locked"
    kept = app.json("GET", "/api/notifications")
    assert [(n["id"], n["kind"], n["text"]) for n in kept] == [(first["id"], "reminder", "")]
    app.json("POST", "/api/unlock", {"passphrase": STRONG})
    (back,) = _wait(lambda: [n for n in reminders() if n["text"]], what="its text back")
    assert back["id"] == first["id"] and back["text"] == first["text"]
    assert len(reminders()) == 1

    assert app.stop() == 0
    again = app_of()
    assert again.home == app.home
    again.sign_in()
    again.json("POST", "/api/unlock", {"passphrase": STRONG})
    app = again
    (shown,) = _wait(reminders, what="the reminder after a restart")
    assert shown["data"]["id"] == first["data"]["id"] and shown["data"].get("again") is True
    time.sleep(1)
    assert len(reminders()) == 1
    config = json.loads((app.home / "config.json").read_text())
    assert config["reminded"][first["data"]["id"]] == recorded  # not recorded again
