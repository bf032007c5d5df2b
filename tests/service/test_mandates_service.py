"""The mandates service called directly (issue 21), as the app's « Aidants » screens will:
typed dataclasses (given and received, the helper's actions), JSON from ``to_json``, errors
from the one tree, nothing printed; the helper acts through ``act_for`` with her own context."""

from __future__ import annotations

import pytest

from vault_client.service import account, act_for, mandates, syncing
from vault_client.service.results import to_json
from vault_core.errors import AccessDenied, UsageError

from .conftest import PASS


async def test_give_list_act_log_revoke(server, new_context, tmp_path, capfd):
    jean = new_context("A")
    folder = tmp_path / "f-A"
    await account.init(jean, server.url, "jean", folder, PASS)
    jean.unlock(PASS)
    gaelle = new_context("G")
    await account.init(gaelle, server.url, "gaelle", tmp_path / "f-G", PASS)
    gaelle.unlock(PASS)
    warnings: list[str] = []
    jean.bus.subscribe(lambda e: warnings.append(e.text), ["warning"])

    with pytest.raises(UsageError):
        await mandates.grant(jean, "gaelle", ["write:Papiers"], 86400)
    given = await mandates.grant(jean, "gaelle", ["upload:Papiers"], 30 * 86400, "Gaëlle")
    assert isinstance(given, mandates.Mandate) and given.role == "given"
    assert given.scopes == ["upload:Papiers"] and given.grant is None and given.fingerprint
    assert any("gaelle" in w for w in warnings)  # her fingerprint, pinned on first use

    (theirs,) = await mandates.list_mandates(gaelle)
    assert (theirs.id, theirs.role, theirs.owner, theirs.state) == (
        given.id, "received", "jean", "active",
    )  # fmt: skip
    note = tmp_path / "note.txt"
    note.write_text("pour Jean")
    assert await act_for.upload(gaelle, "jean", note, "Papiers") == "Papiers/note.txt"
    with pytest.raises(AccessDenied):
        await act_for.requests(gaelle, "jean")

    await syncing.sync(jean)
    assert (folder / "Papiers" / "note.txt").read_text() == "pour Jean"
    (done,) = await mandates.log(jean, given.id)
    assert isinstance(done, mandates.HelperAction)
    assert (done.action, done.helper, done.path) == ("upload", "Gaëlle", "Papiers/note.txt")
    assert to_json([done])[0]["text"] == "Gaëlle added Papiers/note.txt"
    status = await syncing.status(jean)
    assert [n.text for n in status.notices if n.kind == "mandate"] == [done.text]

    await mandates.revoke(jean, given.id)
    (mine,) = await mandates.list_mandates(jean)
    assert mine.state == "revoked"
    with pytest.raises(AccessDenied):
        await act_for.upload(gaelle, "jean", note, "Papiers")
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the service never prints
