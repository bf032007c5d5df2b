"""The API contract, checked by an independent fuzzer (issue 22).

Schemathesis (pinned in the test extras) runs against a real ``vault-server serve`` on
127.0.0.1, reading the server's own ``/v1/openapi.json``: every operation, all its default
checks (server errors, statuses, content types, headers, response schemas, schema-valid data
accepted and schema-violating data refused, Allow on 405, missing headers, authentication
ignored, use after free, resources available once created...), the coverage, fuzzing and
stateful phases (links inferred from the document), with a fixed seed and a random one, without
and with an account's session (tests/server/st_hooks.py). Zero failures and zero errors are
required, and the server's log must hold no traceback and no 5xx.

The server runs with small limits (its config file's ``[limits]`` table): the document is
generated from the limits, so it is as exact for them as for the defaults, and the fuzzer's
boundary cases (a list one item over the limit, a string one byte over) stay small enough to
run in CI in a minute or two. What the document cannot say (that a public key is a point of
its curve, that a referenced blob exists, that an expiry is to come) is grounded by the hooks
for schema-valid cases only; schema-violating cases reach the server as generated.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import signal
import sys
from pathlib import Path

from srv_helpers import REPO, start_process

HERE = Path(__file__).resolve().parent
FIXED_SEED = 22
EXAMPLES = int(os.environ.get("VAULT_ST_EXAMPLES", "25"))
SMALL_LIMITS = """
[limits]
list_items = 8
json_depth = 4
log_refs = 6
log_body = 65536
blob_size = 4096
batch_body = 65536
small_blob_field = 256
device_name = 32
log_page = 10
inbox_items = 8
login_fail_per_handle = 1000000
login_fail_per_address = 1000000
"""


def _cap_memory() -> None:  # pragma: no cover - runs in the child
    # a schema mistake can make the fuzzer's generation explode: fail, never exhaust the machine
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


async def _fuzz(url: str, out: Path, seed: int, auth: bool) -> tuple[int, str]:
    name = f"{'auth' if auth else 'anon'}-{seed}"
    report = out / name
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)]),
        "SCHEMATHESIS_HOOKS": "st_hooks",
        "VAULT_ST_URL": url,
        "VAULT_ST_AUTH": "1" if auth else "0",
        "NO_COLOR": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{url}/v1/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(seed),
        "--workers",
        "1",  # hypothesis' lambda descriptions are not thread-safe on 3.11
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-dir",
        str(report),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=str(out),
        env=env,
        preexec_fn=_cap_memory,
    )
    stdout, _ = await asyncio.wait_for(proc.communicate(), 600)
    text = stdout.decode(errors="replace")
    (out / f"{name}.txt").write_text(text)
    return proc.returncode or 0, text


def _summary(text: str) -> str:
    """The failures and errors sections (the whole output is in the test's tmp directory)."""
    found = [i for i in (text.find("=== ERRORS"), text.find("=== FAILURES")) if i >= 0]
    start = min(found, default=0)
    return text[start:][-6000:]


async def test_schemathesis_finds_no_contract_failure(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text(SMALL_LIMITS)
    p = await start_process(tmp_path / "data", "--config", str(config))
    random_seed = random.SystemRandom().randrange(1, 2**31)
    try:
        results: list[tuple[int, bool, int, str]] = []
        for seed in (FIXED_SEED, random_seed):
            # without and with a session side by side: the machine's two cores
            anon, auth = await asyncio.gather(
                _fuzz(p.url, tmp_path, seed, False), _fuzz(p.url, tmp_path, seed, True)
            )
            results += [(seed, False, *anon), (seed, True, *auth)]
        for seed, auth, rc, text in results:
            assert "Operations:" in text, text[-3000:]
            assert rc == 0, (
                f"schemathesis, seed {seed}, {'with' if auth else 'without'} a session: "
                f"exit {rc}\n{_summary(text)}"
            )
            last = text.strip().splitlines()[-1]  # "=== N warnings in 50s ===": no failure
            assert "failure" not in last and "error" not in last, text[-2000:]
            assert " passed" in text and " generated, " in text, text[-2000:]
    finally:
        p.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(p.proc.wait(), 30) == 0
    log = p.stderr_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]
    statuses = [
        json.loads(line).get("status", 0)
        for line in log.splitlines()
        if line.startswith("{") and '"status":' in line
    ]
    assert len(statuses) > 1000  # the fuzzer did reach the server
    assert not [s for s in statuses if s >= 500]
    assert '"level":"error"' not in log, [ln for ln in log.splitlines() if '"error"' in ln][:5]
