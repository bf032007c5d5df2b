"""Helper mandates in the pure core (SPEC §Mandates): scopes, durations, the owner's signed
statement and the helper's copy, helper entries in the owner's log and what the verifier
refuses, forwards of requests and deposits, answers by a helper."""

from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_core import checklists, delegated, deposits, keys, log, mandates
from vault_core.encoding import canonical_json
from vault_core.errors import FormatError, IntegrityError, UsageError

T0 = 1767225600
OWNER = keys.new_bundle("jean", bytes(range(96)), T0)
HELPER = keys.new_bundle("gaelle", bytes(range(1, 97)), T0)
OTHER = keys.new_bundle("mallory", bytes(range(2, 98)), T0)
DEVICE_ID = "d" * 32


def _mandate(**over: object) -> mandates.Mandate:
    base = {
        "mandate_id": "a" * 32,
        "owner": "jean",
        "owner_sign_pk": OWNER.identity_sign[0],
        "owner_box_pk": OWNER.identity_box[0],
        "helper": "gaelle",
        "helper_sign_pk": HELPER.identity_sign[0],
        "helper_box_pk": HELPER.identity_box[0],
        "name": "Gaëlle",
        "scopes": ("inbox", "read:Papiers", "requests", "upload:Papiers/CAF"),
        "created": T0,
        "expires": T0 + 30 * 86400,
        "grant_id": "b" * 32,
    }
    base.update(over)
    return mandates.Mandate(**base)  # type: ignore[arg-type]


# -- durations and scopes ---------------------------------------------------------------------


def test_durations() -> None:
    assert mandates.parse_duration("1d") == 86400
    assert mandates.parse_duration("30d") == 30 * 86400
    assert mandates.parse_duration("6m") == 180 * 86400  # months, not minutes
    assert mandates.parse_duration("1y") == 365 * 86400
    assert mandates.parse_duration("5s") == 5
    for bad in ("", "d", "0d", "1x", "-1d", "1.5d", "1 d", "11y", "01d", "1D", "1dd"):
        with pytest.raises(UsageError):
            mandates.parse_duration(bad)


@given(st.integers(1, 3650), st.sampled_from(sorted(mandates.UNITS)))
def test_duration_is_count_times_unit_or_refused(n: int, unit: str) -> None:
    seconds = n * mandates.UNITS[unit]
    if seconds <= mandates.MAX_LIFE:
        assert mandates.parse_duration(f"{n}{unit}") == seconds
    else:
        with pytest.raises(UsageError):
            mandates.parse_duration(f"{n}{unit}")


def test_scopes_written_form_and_refusals() -> None:
    assert mandates.normalize_scopes(["requests", "read:Papiers", "requests"]) == (
        "read:Papiers",
        "requests",
    )
    for bad in ("read", "read:", "write:Papiers", "requests:x", "inbox:Papiers", "read:../x",
                "upload:/abs", "read:a//b", "", "upload:CON"):  # fmt: skip
        with pytest.raises(UsageError):
            mandates.normalize_scopes([bad])
    with pytest.raises(UsageError):
        mandates.normalize_scopes([])
    with pytest.raises(UsageError):
        mandates.normalize_scopes([f"read:d{i}" for i in range(17)])


NAME = st.text(st.sampled_from("ab."), min_size=1, max_size=4).filter(
    lambda s: s not in (".", "..") and not s.endswith(".")
)
PATHS = st.lists(NAME, min_size=1, max_size=4).map("/".join)


@given(PATHS, PATHS)
def test_inside_is_component_wise(path: str, base: str) -> None:
    expected = path.split("/")[: len(base.split("/"))] == base.split("/")
    assert mandates.inside(path, base) is expected
    assert mandates.inside(base, base)
    assert not mandates.inside(base + "x", base)


@given(PATHS, st.lists(PATHS, max_size=3), st.lists(PATHS, max_size=3), st.booleans())
def test_allows_follows_the_scopes(
    path: str, uploads: list[str], reads: list[str], inbox: bool
) -> None:
    scopes = [f"upload:{p}" for p in uploads] + [f"read:{p}" for p in reads]
    if inbox:
        scopes.append("inbox")
    assert mandates.allows(scopes, "upload", path) is any(mandates.inside(path, p) for p in uploads)
    assert mandates.allows(scopes, "read", path) is any(mandates.inside(path, p) for p in reads)
    accept = inbox and (
        mandates.inside(path, "Courrier") or any(mandates.inside(path, p) for p in uploads)
    )
    assert mandates.allows(scopes, "accept", path) is accept
    assert mandates.allows(scopes, "answer") is ("requests" in scopes)
    assert not mandates.allows(scopes, "delete", path)
    assert not mandates.allows(scopes, "upload", None)


# -- the statement and the helper's copy -------------------------------------------------------


def test_statement_signed_and_opened() -> None:
    m = _mandate()
    sig = mandates.sign_mandate(m, OWNER.identity_sign[1])
    assert mandates.open_mandate(m.encode(), sig, OWNER.identity_sign[0]) == m
    assert m.kinds() == ["inbox", "read", "requests", "upload"]
    with pytest.raises(IntegrityError):  # another owner's key
        mandates.open_mandate(m.encode(), sig, OTHER.identity_sign[0])
    with pytest.raises(IntegrityError):  # a flipped signature
        mandates.open_mandate(m.encode(), bytes([sig[0] ^ 1]) + sig[1:], OWNER.identity_sign[0])
    # a server that widens the scopes or the time breaks the signature
    wider = dataclasses.replace(m, scopes=("inbox", "read:Papiers", "requests", "upload:Papiers"))
    with pytest.raises(IntegrityError):
        mandates.open_mandate(wider.encode(), sig, OWNER.identity_sign[0])
    longer = dataclasses.replace(m, expires=m.expires + 1)
    with pytest.raises(IntegrityError):
        mandates.open_mandate(longer.encode(), sig, OWNER.identity_sign[0])


@pytest.mark.parametrize(
    "change",
    [
        {"helper": "jean"},
        {"grant_id": None},
        {"scopes": ("requests",), "grant_id": "b" * 32},
        {"scopes": ("requests", "inbox")},
        {"expires": T0},
        {"expires": T0 + mandates.MAX_LIFE + 1},
        {"name": ""},
        {"name": "a\u202eb"},
        {"owner_box_pk": bytes(32)},
        {"mandate_id": "A" * 32},
    ],
)
def test_malformed_statements_refused(change: dict[str, object]) -> None:
    m = _mandate(**change)
    with pytest.raises(FormatError):
        m.encode()
    with pytest.raises(IntegrityError):
        mandates.decode_mandate(canonical_json(m.to_json()))


def test_statement_not_canonical_or_with_other_fields_refused() -> None:
    m = _mandate()
    text = m.encode()
    with pytest.raises(IntegrityError):
        mandates.decode_mandate(text.replace(b'{"created"', b'{ "created"'))
    extra = dict(m.to_json(), extra=1)
    with pytest.raises(IntegrityError):
        mandates.decode_mandate(canonical_json(extra))
    v2 = dict(m.to_json(), v=2)
    with pytest.raises(IntegrityError):
        mandates.decode_mandate(canonical_json(v2))


def test_helper_copy() -> None:
    m = _mandate()
    sig = mandates.sign_mandate(m, OWNER.identity_sign[1])
    sealed = mandates.seal_copy(m, sig, os.urandom(32))
    hb, hs = HELPER.identity_box[1], HELPER.identity_sign[0]
    owner_pk = OWNER.identity_sign[0]
    got, got_sig = mandates.open_copy(sealed, m.mandate_id, hb, owner_pk, "gaelle", hs)
    assert (got, got_sig) == (m, sig)
    with pytest.raises(IntegrityError):  # moved to another mandate id
        mandates.open_copy(sealed, "c" * 32, hb, OWNER.identity_sign[0], "gaelle", hs)
    with pytest.raises(IntegrityError):  # not made by the owner she pinned
        mandates.open_copy(sealed, m.mandate_id, hb, OTHER.identity_sign[0], "gaelle", hs)
    # a copy naming another helper's keys (sealed to her all the same)
    for_other = dataclasses.replace(m, helper_sign_pk=OTHER.identity_sign[0])
    sealed2 = mandates.seal_copy(
        for_other, mandates.sign_mandate(for_other, OWNER.identity_sign[1]), os.urandom(32)
    )
    with pytest.raises(IntegrityError):
        mandates.open_copy(sealed2, m.mandate_id, hb, OWNER.identity_sign[0], "gaelle", hs)


# -- the owner's log -------------------------------------------------------------------------


class Log:
    """Jean's log, built entry by entry: one device, mandates, helper entries."""

    def __init__(self) -> None:
        self.vk = OWNER.vault_keys
        self.entries: list[bytes] = []
        self.head = log.genesis_hash("jean")
        self.device_pk, self.device_sk = keys.device_keypair(b"\x07" * 32)
        cert = keys.DeviceCert.issue(OWNER, DEVICE_ID, "laptop", self.device_pk, T0)
        self.device(log.DeviceRecord("device", DEVICE_ID, cert.encode()))

    def _add(self, entry: log.LogEntry) -> bytes:
        data = entry.encode()
        self.entries.append(data)
        self.head = log.entry_hash(data)
        return data

    def device(self, record: log.Record, time: int = T0 * 1000) -> bytes:
        return self._add(
            log.make_entry(
                handle="jean",
                record_key=self.vk.record_key,
                device_id=DEVICE_ID,
                device_sk=self.device_sk,
                seq=len(self.entries) + 1,
                prev=self.head,
                time=time,
                record=record,
                nonce=os.urandom(24),
            )
        )

    def helper(
        self, record: log.HelperRecord, time: int = (T0 + 60) * 1000, sk: bytes | None = None
    ) -> bytes:
        return self._add(
            log.make_helper_entry(
                handle="jean",
                owner_box_pk=OWNER.identity_box[0],
                helper_sign_sk=sk or HELPER.identity_sign[1],
                seq=len(self.entries) + 1,
                prev=self.head,
                time=time,
                record=record,
                ephemeral=os.urandom(32),
            )
        )

    def grant(self, m: mandates.Mandate) -> None:
        sig = mandates.sign_mandate(m, OWNER.identity_sign[1])
        self.device(log.MandateRecord(m.encode(), sig))

    def verify(self) -> log.LogVerifier:
        v = log.LogVerifier(
            "jean", OWNER.identity_sign[0], self.vk.record_key, box_sk=OWNER.identity_box[1]
        )
        for e in self.entries:
            v.feed(e)
        return v


def _file(path: str, cert: dict[str, object] | None = None) -> log.FileRecord:
    return log.FileRecord(
        file_id=os.urandom(16).hex(),
        version=1,
        path=path,
        deleted=False,
        size=3,
        mtime=T0 * 1000,
        content=os.urandom(32),
        manifest=os.urandom(32).hex(),
        key=os.urandom(32),
        certificate=cert,
    )


def upload(path: str, mandate_id: str = "a" * 32) -> log.HelperRecord:
    return log.HelperRecord(mandate_id, "upload", {}, _file(path))


def test_helper_entries_verified_and_checkpointed() -> None:
    lg = Log()
    m = _mandate()
    lg.grant(m)
    lg.helper(upload("Papiers/CAF/avis.pdf"))
    answer = {"documents": ["Papiers/a.pdf"], "grant": "c" * 32, "request": "e" * 32,
              "requester": "caf"}  # fmt: skip
    lg.helper(log.HelperRecord(m.mandate_id, "answer", answer))
    cert = {"proof": {"statement": {"id": "f" * 32}}, "received": T0}
    lg.helper(log.HelperRecord(m.mandate_id, "accept", {"deposit": "f" * 32},
                               _file("Courrier/CAF/x.pdf", cert)))  # fmt: skip
    v = log.LogVerifier(
        "jean", OWNER.identity_sign[0], lg.vk.record_key, box_sk=OWNER.identity_box[1]
    )
    seen = [v.feed(e)[1] for e in lg.entries]
    assert [type(r).__name__ for r in seen] == [
        "DeviceRecord", "MandateRecord", "HelperRecord", "HelperRecord", "HelperRecord",
    ]  # fmt: skip
    assert [r.action for r in seen[2:]] == ["upload", "answer", "accept"]  # type: ignore[union-attr]
    # the checkpoint carries the mandate; a verifier restored from it goes on
    state = v.state()
    assert set(state["mandates"]) == {m.mandate_id}
    lg.device(log.MandateEndRecord(m.mandate_id, T0 + 120))
    again = log.LogVerifier.from_state(
        "jean", OWNER.identity_sign[0], lg.vk.record_key, state, box_sk=OWNER.identity_box[1]
    )
    again.feed(lg.entries[-1])
    assert again.mandates[m.mandate_id].ended
    # a log without mandates keeps the checkpoint of before
    assert "mandates" not in Log().verify().state()


def _refused(lg: Log) -> None:
    """The last entry is refused and changes nothing."""
    v = log.LogVerifier(
        "jean", OWNER.identity_sign[0], lg.vk.record_key, box_sk=OWNER.identity_box[1]
    )
    for e in lg.entries[:-1]:
        v.feed(e)
    before = v.state()
    with pytest.raises(IntegrityError):
        v.feed(lg.entries[-1])
    assert v.state() == before


def test_upload_outside_the_scope_refused() -> None:
    lg = Log()
    lg.grant(_mandate())
    lg.helper(upload("Papiers/impots.pdf"))  # read:Papiers, upload only Papiers/CAF
    _refused(lg)


def test_after_the_end_or_expiry_or_before_the_start_refused() -> None:
    m = _mandate()
    lg = Log()
    lg.grant(m)
    lg.device(log.MandateEndRecord(m.mandate_id, T0 + 30))
    lg.helper(upload("Papiers/CAF/late.pdf"))
    _refused(lg)
    for t in (m.expires * 1000, m.created * 1000 - 1):
        lg = Log()
        lg.grant(m)
        lg.helper(upload("Papiers/CAF/x.pdf"), time=t)
        _refused(lg)


def test_answer_without_requests_scope_and_accept_without_inbox_refused() -> None:
    m = _mandate(scopes=("upload:Papiers/CAF",), grant_id=None)
    lg = Log()
    lg.grant(m)
    detail = {"documents": ["Papiers/a.pdf"], "grant": "c" * 32, "request": "e" * 32,
              "requester": "caf"}  # fmt: skip
    lg.helper(log.HelperRecord(m.mandate_id, "answer", detail))
    _refused(lg)
    lg = Log()
    lg.grant(m)
    cert = {"proof": {"statement": {"id": "f" * 32}}, "received": T0}
    lg.helper(log.HelperRecord(m.mandate_id, "accept", {"deposit": "f" * 32},
                               _file("Courrier/x.pdf", cert)))  # fmt: skip
    _refused(lg)


def test_forged_helper_entries_refused() -> None:
    m = _mandate()
    # signed by another key than the mandate's helper (a server inventing an action)
    lg = Log()
    lg.grant(m)
    lg.helper(upload("Papiers/CAF/x.pdf"), sk=OTHER.identity_sign[1])
    _refused(lg)
    # a helper entry under a mandate the log does not hold
    lg = Log()
    lg.helper(upload("Papiers/CAF/x.pdf"))
    _refused(lg)
    # a mandate not signed by the owner's identity key (a device cannot invent one either)
    lg = Log()
    lg.device(log.MandateRecord(m.encode(), mandates.sign_mandate(m, OTHER.identity_sign[1])))
    _refused(lg)
    # a mandate naming another owner
    lg = Log()
    other = _mandate(owner="mallory", owner_sign_pk=OWNER.identity_sign[0])
    lg.grant(other)
    _refused(lg)
    # the same mandate twice; an end of an unknown mandate; a device record under its id
    lg = Log()
    lg.grant(m)
    lg.grant(m)
    _refused(lg)
    lg = Log()
    lg.device(log.MandateEndRecord(m.mandate_id, T0))
    _refused(lg)
    lg = Log()
    lg.grant(m)
    lg.device(log.MandateEndRecord(m.mandate_id, T0))
    lg.device(log.MandateEndRecord(m.mandate_id, T0))
    _refused(lg)
    # a device writing a helper record in the helper's name
    lg = Log()
    lg.grant(m)
    lg.device(upload("Papiers/CAF/x.pdf"))
    _refused(lg)


def test_helper_entry_dropped_or_swapped_breaks_the_chain() -> None:
    lg = Log()
    lg.grant(_mandate())
    lg.helper(upload("Papiers/CAF/one.pdf"))
    lg.helper(upload("Papiers/CAF/two.pdf"))
    v = lg.verify()
    assert v.seq == 4
    dropped = lg.entries[:2] + lg.entries[3:]
    vv = log.LogVerifier(
        "jean", OWNER.identity_sign[0], lg.vk.record_key, box_sk=OWNER.identity_box[1]
    )
    vv.feed(dropped[0])
    vv.feed(dropped[1])
    with pytest.raises(IntegrityError):
        vv.feed(dropped[2])


def test_helper_record_rules() -> None:
    mid = "a" * 32
    with pytest.raises(FormatError):  # a helper only adds new files
        log.HelperRecord.from_json(
            dict(upload("Papiers/CAF/x").to_json(), file=dict(_file("x").to_json(), version=2))
        )
    bad_cert = {"proof": {"statement": {"id": "0" * 32}}, "received": T0}
    rec = log.HelperRecord(mid, "accept", {"deposit": "f" * 32}, _file("Courrier/x", bad_cert))
    with pytest.raises(FormatError):
        log.record_from_json(rec.to_json())
    with pytest.raises(FormatError):  # an upload with a certificate
        log.record_from_json(
            log.HelperRecord(mid, "upload", {}, _file("x", {"proof": {}})).to_json()
        )
    with pytest.raises(FormatError):
        log.record_from_json(dict(upload("x").to_json(), action="delete"))


# -- forwards ---------------------------------------------------------------------------------


def _request_envelope(rid: str) -> bytes:
    iss_pk, iss_sk = deposits.issuer_keypair(b"\x05" * 32)
    auth_pk, auth_sk = deposits.authority_keypair(b"\x06" * 32)
    cert = deposits.IssuerCert.issue(auth_sk, auth_pk, iss_pk, "CAF", T0 - 86400, T0 + 86400)
    req = deposits.RequestStatement(
        request_id=rid,
        to="jean",
        to_sign_pk=OWNER.identity_sign[0],
        requester="caf",
        issuer_pk=iss_pk,
        needs=("proof-of-address",),
        due=T0 + 86400,
        message="Un justificatif de domicile",
        created=T0,
    )
    return deposits.build_request(
        statement=req,
        issuer_sk=iss_sk,
        cert=cert,
        recipient_box_pk=OWNER.identity_box[0],
        key=os.urandom(32),
        ephemeral=os.urandom(32),
        nonce=os.urandom(24),
    )


def test_forward_opens_for_the_helper_only_as_signed() -> None:
    m = _mandate()
    rid = "e" * 32
    env = _request_envelope(rid)
    fw = delegated.forward(
        mandate=m,
        kind="request",
        item_id=rid,
        envelope=env,
        owner_box_sk=OWNER.identity_box[1],
        owner_sign_sk=OWNER.identity_sign[1],
        certified="CAF",
        ephemeral=os.urandom(32),
    )
    spliced, certified = delegated.open_forward(
        fw, OWNER.identity_sign[0], m.mandate_id, "request", rid, env
    )
    st_, _ = deposits.open_request(rid, HELPER.identity_box[1], spliced)
    assert certified == "CAF" and st_.to == "jean" and st_.requester == "caf"
    with pytest.raises(IntegrityError):  # she cannot open the original
        deposits.open_request(rid, HELPER.identity_box[1], env)
    with pytest.raises(IntegrityError):  # not signed by the owner she pinned
        delegated.open_forward(fw, OTHER.identity_sign[0], m.mandate_id, "request", rid, env)
    with pytest.raises(IntegrityError):  # shown beside another envelope
        other = _request_envelope(rid)
        delegated.open_forward(fw, OWNER.identity_sign[0], m.mandate_id, "request", rid, other)
    for args in (("b" * 32, "request", rid), (m.mandate_id, "deposit", rid)):
        with pytest.raises(IntegrityError):
            delegated.open_forward(fw, OWNER.identity_sign[0], *args, env)


# -- answers ----------------------------------------------------------------------------------


def test_helper_answer_read_by_both_sides() -> None:
    m = _mandate()
    sig = mandates.sign_mandate(m, OWNER.identity_sign[1])
    caf = keys.new_bundle("caf", bytes(range(3, 99)), T0)
    stmt = checklists.AnswerStatement(
        request_id="e" * 32,
        owner="jean",
        owner_sign_pk=OWNER.identity_sign[0],
        requester="caf",
        grant_id="c" * 32,
        items={"proof-of-address": ("Papiers/facture.pdf",)},
        answered=T0 + 100,
    )

    def build(statement: checklists.AnswerStatement, sk: bytes = HELPER.identity_sign[1]) -> bytes:
        return delegated.build_helper_answer(
            statement=statement,
            mandate=m.encode(),
            mandate_sig=sig,
            helper_sign_sk=sk,
            requester_box_pk=caf.identity_box[0],
            owner_box_pk=OWNER.identity_box[0],
            keys=(os.urandom(32), os.urandom(32)),
            ephemerals=(os.urandom(32), os.urandom(32)),
            nonces=(os.urandom(24), os.urandom(24)),
        )

    env = build(stmt)
    got, by = delegated.open_helper_answer(
        "e" * 32, "requester", caf.identity_box[1], env, "jean", OWNER.identity_sign[0]
    )
    assert got == stmt and by == m
    got, _ = delegated.open_helper_answer(
        "e" * 32, "owner", OWNER.identity_box[1], env, "jean", OWNER.identity_sign[0]
    )
    assert got == stmt
    with pytest.raises(IntegrityError):  # the owner's own answer format does not open it
        checklists.open_answer(
            "e" * 32, "owner", OWNER.identity_box[1], env, OWNER.identity_sign[0]
        )
    bad = [
        (build(stmt, OTHER.identity_sign[1]), "e" * 32, "jean"),  # not the helper's key
        (build(dataclasses.replace(stmt, answered=m.expires)), "e" * 32, "jean"),  # expired
        (env, "f" * 32, "jean"),  # another request
        (env, "e" * 32, "mallory"),  # another owner
    ]
    for envelope, rid, owner in bad:
        with pytest.raises(IntegrityError):
            delegated.open_helper_answer(
                rid, "owner", OWNER.identity_box[1], envelope, owner, OWNER.identity_sign[0]
            )
    with pytest.raises(IntegrityError):  # a mandate the owner did not sign
        delegated.open_helper_answer(
            "e" * 32, "owner", OWNER.identity_box[1], env, "jean", OTHER.identity_sign[0]
        )


def test_sealed_records_are_bound_to_their_entry() -> None:
    """A helper record moved to another position of the log (or to another account's log) does
    not open: the seal's AD names the handle, the mandate and the seq."""
    lg = Log()
    lg.grant(_mandate())
    lg.helper(upload("Papiers/CAF/x.pdf"))
    entry = log.LogEntry.decode(lg.entries[-1])
    moved = dataclasses.replace(entry, seq=entry.seq + 1)
    with pytest.raises(IntegrityError):
        log.open_helper_record("jean", OWNER.identity_box[1], moved)
    with pytest.raises(IntegrityError):
        log.open_helper_record("jean2", OWNER.identity_box[1], entry)
    assert log.open_helper_record("jean", OWNER.identity_box[1], entry).action == "upload"
