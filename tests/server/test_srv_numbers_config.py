"""Two rules the OpenAPI document relies on (issue 22): a JSON number with an integral value is
that integer whatever its spelling (JSON Schema's reading), any other number is refused; and
the server's limits can be set in its config file's ``[limits]`` table, strictly."""

from __future__ import annotations

from pathlib import Path

import pytest
from srv_helpers import Srv, expect

from vault_server.config import ConfigFileError, load_config_file


async def test_integral_numbers_are_integers_and_others_are_refused(srv: Srv) -> None:
    jean = await srv.user("jean")
    h = {**jean.h, "Content-Type": "application/json"}
    for spelled in ("0.0", "0e5", "0.000", "-0.0"):
        body = '{"expected_head": ' + spelled + ', "entries": [{"entry": "AA"}]}'
        r = await srv.client.post("/v1/log", data=body, headers=h)
        assert r.status in (201, 409), await r.text()  # read as 0: accepted, or the head moved
    for bad in ("1.5", "1e-3", "1e999999999", "-1e400", "9007199254740993.0"):
        body = '{"expected_head": ' + bad + ', "entries": [{"entry": "AA"}]}'
        r = await srv.client.post("/v1/log", data=body, headers=h)
        await expect(r, 400, "bad_request")
    head = await expect(await srv.client.get("/v1/log/head", headers=jean.h), 200)
    assert head["seq"] >= 1  # the first append, expected_head 0.0, went in


def test_limits_table_of_the_config_file(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("[limits]\nlist_items = 8\nlog_refs = 6\n")
    assert load_config_file(f)["limits"] == {"list_items": 8, "log_refs": 6}
    for bad in ("nope = 1", "list_items = 0", "list_items = 'many'", "quota = 5"):
        f.write_text(f"[limits]\n{bad}\n")
        with pytest.raises(ConfigFileError):
            load_config_file(f)
