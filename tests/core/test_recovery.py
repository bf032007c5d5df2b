"""vault_core.recovery (SPEC.md §Trusted contacts): the whole flow in memory, properties.

* hypothesis: for any t of n (2 <= t <= n <= 6), any t approving contacts rebuild the
  contacts secret from their re-sealed shares and open the bundle (slot "contacts"); any t-1
  do not make the recovery ready; the time it may finish is max(created, t-th approval) + delay
  whatever the order of the approvals;
* each field of an approval, changed and re-signed by the right key, is refused; a share
  re-sealed for one recovery does not open for another;
* a veto and a finish proof are bound to their request, device and host.
(The MUST-reject vectors of recovery_contacts.json run in test_vectors.py.)
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault_core import _crypto, keys, shamir
from vault_core import recovery as rc
from vault_core.encoding import canonical_json, parse_canonical_json
from vault_core.errors import FormatError, IntegrityError

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = 1_800_000_000
NAMES = ("alice", "bob", "carol", "dora", "emil", "fanny")
PEOPLE = {h: keys.new_bundle(h, os.urandom(96), T0) for h in NAMES}
OWNER = keys.new_bundle("jean", os.urandom(96), T0)


class Flow:
    def __init__(self, t: int, n: int, delay: int = 3600) -> None:
        self.secret = os.urandom(32)
        self.ckeys = rc.contacts_keys(self.secret)
        contacts = tuple(
            rc.Contact(h, PEOPLE[h].identity_sign[0], PEOPLE[h].identity_box[0], i + 1)
            for i, h in enumerate(NAMES[:n])
        )
        self.set = rc.ContactSet(
            "jean", os.urandom(16).hex(), t, delay, contacts, self.ckeys.login_keypair[0], T0
        )
        self.sig = rc.sign_set(self.set, OWNER.identity_sign[1])
        shares = shamir.split(self.secret, n, t, os.urandom((t - 1) * 32))
        self.sealed = {
            c.handle: rc.seal_share(self.set, c, s, os.urandom(32))
            for c, s in zip(contacts, shares, strict=True)
        }
        self.wrapped = keys.wrap_bundle(OWNER, self.ckeys.kek, "contacts", os.urandom(24))
        self.dsk = os.urandom(32)
        self.request = rc.Request(
            "jean", os.urandom(16).hex(), _crypto.box_keypair(self.dsk)[0], T0 + 10, os.urandom(16)
        )
        self.raw = self.request.encode()

    def approve(self, handle: str, at: int) -> tuple[bytes, bytes, bytes]:
        """What a contact's client does: verify the set, open, re-seal, sign."""
        s = rc.open_set(self.set.encode(), self.sig, OWNER.identity_sign[0], "jean")
        me = s.contact(handle)
        share = rc.open_share(s, me, PEOPLE[handle].identity_box[1], self.sealed[handle])
        resealed = rc.reseal_share(
            s, me, self.request.recovery, self.request.box_pk, share, os.urandom(32)
        )
        text, sig = rc.make_approval(s, me, self.raw, resealed, at, PEOPLE[handle].identity_sign[1])
        return text, sig, resealed

    def finish(self, approvals: list[tuple[str, tuple[bytes, bytes, bytes]]]) -> Any:
        checked = [
            rc.check_approval(t, g, self.set, self.set.contact(h), self.raw, r)
            for h, (t, g, r) in approvals
        ]
        shares = [
            rc.open_reshare(self.set, self.set.contact(h), self.request.recovery, self.dsk, r)
            for h, (_, _, r) in approvals
        ]
        return checked, shamir.combine(shares)


@FAST
@given(st.integers(2, 6).flatmap(lambda n: st.tuples(st.integers(2, n), st.just(n))), st.data())
def test_any_t_contacts_recover_and_t_minus_1_are_not_ready(tn: tuple[int, int], data: Any):
    t, n = tn
    f = Flow(t, n)
    chosen = data.draw(st.permutations(NAMES[:n]))[:t]
    times = data.draw(st.lists(st.integers(0, 10_000), min_size=t, max_size=t))
    approvals = [(h, f.approve(h, T0 + 10 + dt)) for h, dt in zip(chosen, times, strict=True)]
    checked, secret = f.finish(approvals)
    assert secret == f.secret
    bundle = keys.unwrap_bundle(f.wrapped, rc.contacts_keys(secret).kek, "jean", "contacts")
    assert bundle.identity_sign[0] == OWNER.identity_sign[0]
    assert rc.ready_at(f.request, f.set, checked) == T0 + 10 + max(times) + f.set.delay
    assert rc.ready_at(f.request, f.set, list(reversed(checked))) == rc.ready_at(
        f.request, f.set, checked
    )
    assert rc.ready_at(f.request, f.set, checked[:-1]) is None
    # the same contact twice counts once
    assert rc.ready_at(f.request, f.set, checked[:-1] + checked[:1]) is None
    if t > 2:  # t-1 shares rebuild something else, which opens nothing
        _, wrong = f.finish(approvals[:-1])
        assert wrong != f.secret
        with pytest.raises(IntegrityError):
            keys.unwrap_bundle(f.wrapped, rc.contacts_keys(wrong).kek, "jean", "contacts")


def _resign(text: bytes, handle: str, **change: Any) -> tuple[bytes, bytes]:
    body = {**parse_canonical_json(text), **change}
    data = canonical_json(body)
    return data, _crypto.sign(
        PEOPLE[handle].identity_sign[1], b"vault.v1/recovery-approval\x00" + data
    )


@pytest.mark.parametrize(
    "field,value",
    [
        ("account", "paul"),
        ("recovery", "0" * 32),
        ("contact", "bob"),
        ("request", "A" * 43),
        ("box_pk", "B" * 42 + "A"),
        ("set", "f" * 32),
        ("threshold", 3),
        ("delay", 0),
        ("share", "C" * 42 + "A"),
        ("approved", T0 - 10_000),
        ("type", "recovery-veto"),
        ("v", 2),
    ],
)
def test_each_approval_field_is_bound(field: str, value: Any):
    f = Flow(2, 3)
    text, _, resealed = f.approve("alice", T0 + 20)
    forged, sig = _resign(text, "alice", **{field: value})
    with pytest.raises(IntegrityError):
        rc.check_approval(forged, sig, f.set, f.set.contact("alice"), f.raw, resealed)


def test_a_share_resealed_for_one_recovery_does_not_open_for_another():
    f = Flow(2, 3)
    _, _, resealed = f.approve("alice", T0 + 20)
    with pytest.raises(IntegrityError):
        rc.open_reshare(f.set, f.set.contact("alice"), "1" * 32, f.dsk, resealed)
    with pytest.raises(IntegrityError):  # nor as another contact's
        rc.open_reshare(f.set, f.set.contact("bob"), f.request.recovery, f.dsk, resealed)


def test_a_request_dated_ahead_is_refused_by_contacts():
    f = Flow(2, 3)
    rc.check_request(f.request, "jean", f.request.recovery, T0 + 10 - rc.CLOCK_SKEW)
    with pytest.raises(IntegrityError):
        rc.check_request(f.request, "jean", f.request.recovery, T0 + 9 - rc.CLOCK_SKEW)
    with pytest.raises(IntegrityError):
        rc.check_request(f.request, "paul", f.request.recovery, T0 + 20)


def test_veto_and_finish_are_bound():
    f = Flow(2, 3)
    text, sig = rc.make_veto("jean", f.raw, T0 + 30, OWNER.identity_sign[1])
    assert rc.check_veto(text, sig, OWNER.identity_sign[0], f.raw) == T0 + 30
    other = rc.Request("jean", "2" * 32, f.request.box_pk, T0, os.urandom(16)).encode()
    with pytest.raises(IntegrityError):
        rc.check_veto(text, sig, OWNER.identity_sign[0], other)
    pk = keys.device_keypair(os.urandom(32))[0]
    proof = rc.sign_finish(f.ckeys.login_keypair[1], "jean", f.request.recovery, "3" * 32, pk, "h")
    rc.verify_finish(f.set.login_pk, "jean", f.request.recovery, "3" * 32, pk, "h", proof)
    for args in (
        ("paul", f.request.recovery, "3" * 32, pk, "h"),
        ("jean", f.request.recovery, "4" * 32, pk, "h"),
        ("jean", f.request.recovery, "3" * 32, pk, "other"),
    ):
        with pytest.raises(IntegrityError):
            rc.verify_finish(f.set.login_pk, *args, proof)


def test_building_a_bad_set_is_a_format_error():
    f = Flow(2, 3)
    for change in (
        {"threshold": 1},
        {"threshold": 4},
        {"contacts": f.set.contacts[:1]},
        {"contacts": (f.set.contacts[0], f.set.contacts[0])},
        {"delay": -1},
    ):
        bad = rc.ContactSet(**{**f.set.__dict__, **change})
        with pytest.raises(FormatError):
            bad.encode()


def test_contacts_keys_are_not_the_recovery_keys():
    secret = os.urandom(32)
    a, b = rc.contacts_keys(secret), keys.derive_recovery_keys(secret)
    assert a.login_seed != b.login_seed and a.kek != b.kek
    with pytest.raises(IntegrityError):
        rc.contacts_keys(bytes(32))
