"""vault_core.shamir (SPEC.md §Recovery shares): vectors, properties, independence, refusals.

* the vectors of protocol/vectors/shamir.json (also run by test_vectors.py's generic layer;
  here every subset, the below-threshold values and the npm package's own shares in full);
* the field arithmetic against the generator's independent reference, for every pair;
* hypothesis: any t of the n shares, in any order, rebuild the secret; fewer give a value
  (no error) that the caller must authenticate;
* a chi-square test, fixed seed, that t-1 shares are independent of the secret, with a leaky
  splitter as the control that shows the test can fail;
* every MUST-reject rule, as FormatError (a VaultError), never another exception.
"""

from __future__ import annotations

import itertools
import json
import random as stdrandom
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.vectors_gen.shamir import ref_combine, ref_mul, ref_split
from vault_core import shamir
from vault_core.errors import FormatError, VaultError

DOC: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "protocol/vectors/shamir.json").read_text("utf-8")
)
SPLITS = [c for c in DOC["positive"] if c["op"] == "shamir_split"]
COMBINES = [c for c in DOC["positive"] if c["op"] == "shamir_combine"]
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def H(value: str) -> bytes:
    return bytes.fromhex(value)


# -- vectors ----------------------------------------------------------------------------------


def test_vectors_cover_the_brief() -> None:
    pairs = {(c["t"], c["n"]) for c in SPLITS}
    sizes = {len(H(c["secret"])) for c in SPLITS}
    assert pairs == {(2, 3), (3, 5), (5, 5), (2, 255)}
    assert sizes == {1, 16, 32}
    assert len(SPLITS) == 12
    assert len(COMBINES) == 2
    assert {c["op"] for c in DOC["negative"]} == {"shamir_split", "shamir_combine"}


@pytest.mark.parametrize("case", SPLITS, ids=[c["name"] for c in SPLITS])
def test_split_vector(case: dict[str, Any]) -> None:
    secret, t, n = H(case["secret"]), case["t"], case["n"]
    assert len(H(case["random"])) == (t - 1) * len(secret)
    shares = shamir.split(secret, n, t, H(case["random"]))
    assert [s.hex() for s in shares] == case["shares"]
    assert [s[-1] for s in shares] == list(range(1, n + 1))
    assert all(len(s) == len(secret) + 1 for s in shares)
    for xs in case["rebuild"]:
        assert len(xs) >= t
        assert shamir.combine([shares[x - 1] for x in xs]) == secret
    if t > 2:
        below = case["below_threshold"]
        assert below["x"] == list(range(1, t))
        value = shamir.combine([shares[x - 1] for x in below["x"]])
        assert value.hex() == below["output"]
    else:
        assert "below_threshold" not in case


@pytest.mark.parametrize("case", COMBINES, ids=[c["name"] for c in COMBINES])
def test_npm_package_shares_rebuild(case: dict[str, Any]) -> None:
    """Shares made by shamir-secret-sharing's own split (random x): every t-subset, any order."""
    secret, t = H(case["secret"]), case["t"]
    assert shamir.combine([H(s) for s in case["shares"]]) == secret
    every = [H(s) for s in case["all_shares"]]
    assert len({s[-1] for s in every}) == len(every)
    for k in range(t, len(every) + 1):
        for subset in itertools.permutations(every, k):
            assert shamir.combine(subset) == secret


@pytest.mark.parametrize("case", DOC["negative"], ids=[c["name"] for c in DOC["negative"]])
def test_negative_vector(case: dict[str, Any]) -> None:
    assert case["error"] == "FormatError"
    with pytest.raises(FormatError):
        if case["op"] == "shamir_split":
            shamir.split(H(case["secret"]), case["n"], case["t"], H(case["random"]))
        else:
            shamir.combine([H(s) for s in case["shares"]])


# -- the field ----------------------------------------------------------------------------------


def test_field_arithmetic_against_the_reference() -> None:
    assert shamir._mul(0x57, 0x83) == 0xC1  # FIPS-197 §4.2
    assert shamir._mul(0x57, 0x13) == 0xFE
    for a in range(256):
        for b in range(256):
            assert shamir._mul(a, b) == ref_mul(a, b)
    assert shamir._inv(0) == 0
    for a in range(1, 256):
        assert shamir._mul(a, shamir._inv(a)) == 1


# -- properties ---------------------------------------------------------------------------------


@st.composite
def splits(draw: st.DrawFn, max_n: int = 12) -> tuple[bytes, int, int, bytes]:
    n = draw(st.integers(2, max_n))
    t = draw(st.integers(2, n))
    secret = draw(st.binary(min_size=1, max_size=33))
    random = draw(st.binary(min_size=(t - 1) * len(secret), max_size=(t - 1) * len(secret)))
    return secret, n, t, random


@FAST
@given(splits(), st.data())
def test_any_t_shares_in_any_order_rebuild(
    case: tuple[bytes, int, int, bytes], data: st.DataObject
) -> None:
    secret, n, t, random = case
    shares = shamir.split(secret, n, t, random)
    assert shares == ref_split(secret, n, t, random)
    order = data.draw(st.permutations(range(n)))
    k = data.draw(st.integers(t, n))
    subset = [shares[i] for i in order[:k]]
    assert shamir.combine(subset) == secret


@FAST
@given(splits(), st.data())
def test_fewer_than_t_shares_give_a_value_not_an_error(
    case: tuple[bytes, int, int, bytes], data: st.DataObject
) -> None:
    secret, n, t, random = case
    if t < 3:
        t, n = 3, max(n, 3)
        random = random + bytes(len(secret))
    shares = shamir.split(secret, n, t, random)
    order = data.draw(st.permutations(range(n)))
    k = data.draw(st.integers(2, t - 1))
    subset = [shares[i] for i in order[:k]]
    value = shamir.combine(subset)
    assert len(value) == len(secret)
    assert value == ref_combine(subset)  # the line through those points at 0, nothing more


@FAST
@given(splits(max_n=40))
def test_split_is_deterministic_and_uses_all_its_randomness(
    case: tuple[bytes, int, int, bytes],
) -> None:
    secret, n, t, random = case
    shares = shamir.split(secret, n, t, random)
    assert shamir.split(secret, n, t, random) == shares
    assert [s[-1] for s in shares] == list(range(1, n + 1))
    # Changing any one random byte changes the share at x = 1 (coefficient times 1^j).
    i = len(random) // 2
    other = bytearray(random)
    other[i] ^= 0x01
    assert shamir.split(secret, n, t, bytes(other))[0] != shares[0]


def test_bytearray_inputs_are_accepted() -> None:
    shares = shamir.split(bytes(bytearray(b"abc")), 3, 2, b"xyz")
    assert shares == shamir.split(bytearray(b"abc"), 3, 2, bytearray(b"xyz"))  # type: ignore[arg-type]
    assert shamir.combine([bytearray(shares[2]), shares[0]]) == b"abc"  # type: ignore[list-item]


# -- t-1 shares are independent of the secret (chi-square, fixed seed) ----------------------------

BUCKETS = 256
SAMPLES_PER_SPLIT = 256  # secret length: each byte is an independent polynomial


def _chi2_critical(df: int, z: float = 3.719) -> float:
    """Wilson-Hilferty upper quantile of chi-square(df); z = 3.719 is p = 1e-4."""
    k = 2 / (9 * df)
    return float(df * (1 - k + z * k**0.5) ** 3)


def _uniform_chi2(counts: Sequence[int]) -> float:
    expected = sum(counts) / len(counts)
    return sum((c - expected) ** 2 / expected for c in counts)


def _two_sample_chi2(a: Sequence[int], b: Sequence[int]) -> float:
    assert sum(a) == sum(b)
    return sum((x - y) ** 2 / (x + y) for x, y in zip(a, b, strict=True) if x + y)


def _projections(ys: Sequence[int]) -> list[int]:
    """Bucket indices (0..255) of one sample of the observed share bytes."""
    out = list(ys)
    total = 0
    xor = 0
    for y in ys:
        total += y
        xor ^= y
    out += [total % 256, xor]
    if len(ys) >= 2:
        out += [(ys[0] & 0xF0) | (ys[1] >> 4), ((ys[0] << 4) & 0xF0) | (ys[1] & 0x0F)]
    return out


def _histograms(
    splitter: Callable[[bytes, int, int, bytes], list[bytes]],
    secret_byte: int,
    t: int,
    n: int,
    xs: Sequence[int],
    rounds: int,
    seed: int,
) -> list[list[int]]:
    rng = stdrandom.Random(seed)
    secret = bytes([secret_byte]) * SAMPLES_PER_SPLIT
    hists: list[list[int]] | None = None
    for _ in range(rounds):
        shares = splitter(secret, n, t, rng.randbytes((t - 1) * len(secret)))
        for k in range(len(secret)):
            buckets = _projections([shares[x - 1][k] for x in xs])
            if hists is None:
                hists = [[0] * BUCKETS for _ in buckets]
            for h, b in zip(hists, buckets, strict=True):
                h[b] += 1
    assert hists is not None
    return hists


def _dependence(
    splitter: Callable[[bytes, int, int, bytes], list[bytes]],
    t: int,
    n: int,
    xs: Sequence[int],
    rounds: int,
) -> float:
    """Largest chi-square over the projections, divided by its critical value (> 1: dependent).

    Two different secrets (0x00 and 0xff in every byte), independent seeded randomness; each
    projection of the t-1 observed share bytes is tested for uniformity under both secrets
    and for equal distributions between them (two-sample).
    """
    ha = _histograms(splitter, 0x00, t, n, xs, rounds, seed=1)
    hb = _histograms(splitter, 0xFF, t, n, xs, rounds, seed=2)
    crit = _chi2_critical(BUCKETS - 1)
    worst = 0.0
    for a, b in zip(ha, hb, strict=True):
        worst = max(worst, _uniform_chi2(a) / crit, _uniform_chi2(b) / crit)
        worst = max(worst, _two_sample_chi2(a, b) / crit)
    return worst


@pytest.mark.parametrize(
    ("t", "n", "xs", "rounds"),
    [(2, 3, [2], 60), (3, 5, [1, 4], 50), (5, 5, [1, 2, 4, 5], 30)],
    ids=["2-of-3 x=2", "3-of-5 x=1,4", "5-of-5 x=1,2,4,5"],
)
def test_t_minus_1_shares_are_independent_of_the_secret(
    t: int, n: int, xs: list[int], rounds: int
) -> None:
    assert len(xs) == t - 1
    assert _dependence(shamir.split, t, n, xs, rounds) < 1.0


def test_the_independence_test_catches_a_leaky_splitter() -> None:
    """Control: coefficients from a 16-value subset (a weak RNG) leak the secret."""

    def leaky(secret: bytes, n: int, t: int, random: bytes) -> list[bytes]:
        return shamir.split(secret, n, t, bytes(b & 0x0F for b in random))

    assert _dependence(leaky, 2, 3, [2], 20) > 1.0


# -- MUST reject --------------------------------------------------------------------------------

S16 = bytes(range(16))
R16 = bytes(range(100, 116))

BAD_SPLITS: list[tuple[str, Any, Any, Any, Any]] = [
    ("threshold 1", S16, 3, 1, b""),
    ("threshold 0", S16, 3, 0, b""),
    ("negative threshold", S16, 3, -1, b""),
    ("threshold above n", S16, 3, 4, bytes(48)),
    ("n = 256", S16, 256, 2, R16),
    ("n = 1000", S16, 1000, 2, R16),
    ("n = 1", S16, 1, 2, R16),
    ("empty secret", b"", 3, 2, b""),
    ("random short", S16, 3, 2, R16[:-1]),
    ("random long", S16, 3, 2, R16 + b"\x00"),
    ("random empty", S16, 3, 2, b""),
    ("random for another threshold", S16, 5, 3, R16),
    ("bool threshold", S16, 3, True, R16),
    ("float n", S16, 3.0, 2, R16),
    ("str secret", "secret", 3, 2, bytes(6)),
    ("str random", S16, 3, 2, "r" * 16),
    ("None random", S16, 3, 2, None),
]


@pytest.mark.parametrize(
    ("name", "secret", "n", "t", "random"), BAD_SPLITS, ids=[c[0] for c in BAD_SPLITS]
)
def test_split_must_reject(name: str, secret: Any, n: Any, t: Any, random: Any) -> None:
    with pytest.raises(FormatError):
        shamir.split(secret, n, t, random)


_GOOD = shamir.split(S16, 3, 2, R16)
_A, _B, _C = _GOOD

BAD_COMBINES: list[tuple[str, Any]] = [
    ("no share", []),
    ("one share", [_A]),
    ("different lengths", [_A, _B[1:]]),
    ("one longer", [_A, _B, _C + b"\x00"]),
    ("same share twice", [_A, _A]),
    ("same x, other data", [_A, _B[:-1] + _A[-1:]]),
    ("same x among many", [_A, _B, _C, _A]),
    ("x = 0", [_A[:-1] + b"\x00", _B]),
    ("x = 0 twice", [_A[:-1] + b"\x00", _B[:-1] + b"\x00"]),
    ("x only", [b"\x01", b"\x02"]),
    ("empty shares", [b"", b""]),
    ("one empty share", [_A, b""]),
    ("a bytes object, not a list", _A + _B),
    ("a str", "ab"),
    ("a str share", [_A, "x" * len(_A)]),
    ("None share", [_A, None]),
]


@pytest.mark.parametrize(("name", "shares"), BAD_COMBINES, ids=[c[0] for c in BAD_COMBINES])
def test_combine_must_reject(name: str, shares: Any) -> None:
    with pytest.raises(FormatError) as info:
        shamir.combine(shares)
    assert isinstance(info.value, VaultError)


def test_combine_with_more_shares_than_needed_and_from_the_tail() -> None:
    shares = shamir.split(S16, 255, 2, R16)
    assert shamir.combine(shares) == S16
    assert shamir.combine(shares[::-1]) == S16
    assert shamir.combine([shares[254], shares[253]]) == S16


def test_shares_of_two_splits_mixed_give_a_wrong_value_silently() -> None:
    """The residual SPEC.md names: combine cannot tell; the caller authenticates."""
    one = shamir.split(S16, 3, 2, R16)
    two = shamir.split(S16, 3, 2, bytes(reversed(R16)))
    mixed = shamir.combine([one[0], two[1]])
    assert len(mixed) == len(S16)
    assert mixed != S16
