"""Vectors for SPEC.md "Recovery shares (Shamir, GF(256))": splitting and rebuilding.

Writes ``shamir.json``. Every split takes its secret and its randomness from :func:`det`, and
its shares are re-derived here with a second, deliberately different GF(2^8) implementation
(carry-less product reduced by long division, plain power sums, inverses by search); a drift
between this reference and ``vault_core.shamir`` stops the build.

The ``npm-sample`` cases are shares made once by the npm package ``shamir-secret-sharing``
0.0.4 (privy-io) with its own ``split`` and real randomness (its x coordinates are a random
shuffle of 1..255), copied here as constants: they show that its shares rebuild with
``vault_core.shamir.combine``. ``web/test/shamir.test.mjs`` checks the other direction and
more: the package's ``combine`` rebuilds every split vector, its ``split`` fed each vector's
``random`` gives the vector's shares, and shares of its ``split`` with real randomness rebuild
by the SPEC's rules (SPEC §Recovery shares, "The npm package").
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from vault_core import shamir

from .common import JSON, det, hx, neg, vector_file

SPLITS = ((2, 3), (3, 5), (5, 5), (2, 255))  # (t, n)
SIZES = (1, 16, 32)
NPM_VERSION = "0.0.4"
NPM_SAMPLES = (
    {
        "label": "shamir/npm-sample/secret/32",
        "size": 32,
        "n": 5,
        "t": 3,
        "shares": (
            "50a05d788f9f6c98299554ad312fb2db1c28cd2bc63094bebec2a6fe48b8753cd5",
            "c43edb4fbcd70dafc8022991c615600bc1b18570b3fc2e5e68b7b0161e67bb9a67",
            "fc0c0bc680eeef2ab859577238ef11468a5a66e6cd78ffb8f6cac62da0e28d1bb9",
            "12b3584c16c1e8e5f4cac92936e83e042b1b9aeecfc7a4e83e123822617857a0e1",
            "751c4e8737da94755b96ea4eb818acb5926e902ad0402833245d3244cc32bbef5a",
        ),
    },
    {
        "label": "shamir/npm-sample/secret/16",
        "size": 16,
        "n": 3,
        "t": 2,
        "shares": (
            "9240a81170c93abeacf84ffb25c0dee005",
            "101dd079c6113efdb3f074b1bb01914d76",
            "e9b4fefd7d5799d25aa575a41ad74cb8bc",
        ),
    },
)

# -- the reference (independent of vault_core.shamir) -------------------------------------


def ref_mul(a: int, b: int) -> int:
    """Carry-less product, then the remainder modulo 0x11b by long division."""
    p = 0
    for i in range(8):
        if b >> i & 1:
            p ^= a << i
    for i in range(14, 7, -1):
        if p >> i & 1:
            p ^= 0x11B << (i - 8)
    return p


def ref_pow(a: int, e: int) -> int:
    out = 1
    for _ in range(e):
        out = ref_mul(out, a)
    return out


@cache
def ref_inv(a: int) -> int:
    return next(b for b in range(1, 256) if ref_mul(a, b) == 1)


def ref_split(secret: bytes, n: int, t: int, random: bytes) -> list[bytes]:
    out = []
    for x in range(1, n + 1):
        ys = bytearray()
        for k, s in enumerate(secret):
            coeffs = [s, *random[k * (t - 1) : (k + 1) * (t - 1)]]
            y = 0
            for j, a in enumerate(coeffs):
                y ^= ref_mul(a, ref_pow(x, j))
            ys.append(y)
        out.append(bytes(ys) + bytes([x]))
    return out


def ref_combine(shares: Sequence[bytes]) -> bytes:
    xs = [s[-1] for s in shares]
    basis = []
    for i, xi in enumerate(xs):
        li = 1
        for j, xj in enumerate(xs):
            if j != i:
                li = ref_mul(li, ref_mul(xj, ref_inv(xi ^ xj)))
        basis.append(li)
    out = bytearray()
    for k in range(len(shares[0]) - 1):
        acc = 0
        for share, li in zip(shares, basis, strict=True):
            acc ^= ref_mul(share[k], li)
        out.append(acc)
    return bytes(out)


# -- the cases ----------------------------------------------------------------------------


def _subsets(n: int, t: int) -> list[list[int]]:
    """x-coordinate lists (in the order given to combine) that must rebuild the secret."""
    spread = [1 + (i * (n - 1)) // (t - 1) for i in range(t)]
    cand = [
        list(range(1, t + 1)),  # the first t
        list(range(n, n - t, -1)),  # the last t, in reverse order
        spread[1::2] + spread[0::2],  # spread over 1..n, interleaved
    ]
    if n > t:
        cand.append(list(range(t + 1, 0, -1)))  # more than t
    if n <= 5 or t == 2:
        cand.append(list(range(1, n + 1)))  # all of them
    out: list[list[int]] = []
    for c in cand:
        if c not in out:
            out.append(c)
    return out


def _split_case(t: int, n: int, size: int) -> JSON:
    name = f"{t} of {n}, {size}-byte secret"
    secret = det(f"shamir/secret/{size}/{t}-of-{n}", size)
    random = det(f"shamir/random/{size}/{t}-of-{n}", (t - 1) * size)
    shares = shamir.split(secret, n, t, random)
    assert shares == ref_split(secret, n, t, random)
    case: JSON = {
        "op": "shamir_split",
        "name": name,
        "secret": hx(secret),
        "n": n,
        "t": t,
        "random": hx(random),
        "shares": [hx(s) for s in shares],
        "rebuild": [],
    }
    for xs in _subsets(n, t):
        subset = [shares[x - 1] for x in xs]
        assert shamir.combine(subset) == secret == ref_combine(subset)
        case["rebuild"].append(xs)
    if t > 2:
        below = shares[: t - 1]
        output = shamir.combine(below)
        assert output == ref_combine(below)
        case["below_threshold"] = {"x": list(range(1, t)), "output": hx(output)}
    return case


def _npm_case(sample: JSON) -> JSON:
    secret = det(str(sample["label"]), int(sample["size"]))
    shares = [bytes.fromhex(s) for s in sample["shares"]]
    t = int(sample["t"])
    for i in range(len(shares) - t + 1):
        subset = shares[i : i + t]
        assert shamir.combine(subset) == secret == ref_combine(subset)
    subset = list(reversed(shares[:t]))
    assert shamir.combine(subset) == secret
    return {
        "op": "shamir_combine",
        "name": f"npm-sample: {t} of {sample['n']} by shamir-secret-sharing {NPM_VERSION}",
        "source": f"shamir-secret-sharing {NPM_VERSION} split (npm), random x coordinates",
        "t": t,
        "shares": [hx(s) for s in subset],
        "secret": hx(secret),
        "all_shares": list(sample["shares"]),
    }


def _negatives() -> list[JSON]:
    s16 = det("shamir/negative/secret", 16)
    r16 = det("shamir/negative/random", 16)
    shares = shamir.split(s16, 3, 2, r16)
    a, b = shares[0], shares[1]
    same_x = b[:-1] + a[-1:]
    x_zero = a[:-1] + b"\x00"

    def sp(name: str, secret: bytes, n: int, t: int, random: bytes) -> JSON:
        return neg(
            name, "shamir_split", "FormatError", secret=hx(secret), n=n, t=t, random=hx(random)
        )

    def co(name: str, items: Sequence[bytes]) -> JSON:
        return neg(name, "shamir_combine", "FormatError", shares=[hx(s) for s in items])

    return [
        sp("threshold 1", s16, 3, 1, b""),
        sp("threshold 0", s16, 3, 0, b""),
        sp("threshold above the number of shares", s16, 3, 4, det("shamir/negative/r48", 48)),
        sp("256 shares", s16, 256, 2, r16),
        sp("empty secret", b"", 3, 2, b""),
        sp("randomness one byte short", s16, 3, 2, r16[:-1]),
        sp("randomness one byte too long", s16, 3, 2, r16 + b"\x00"),
        co("no share", []),
        co("one share", [a]),
        co("shares of different lengths", [a, b[:-2] + b[-1:]]),
        co("the same share twice", [a, a]),
        co("two shares with the same x", [a, same_x]),
        co("a share with x = 0", [x_zero, b]),
        co("shares without data (x only)", [b"\x01", b"\x02"]),
        co("empty shares", [b"", b""]),
    ]


def build_shamir() -> JSON:
    positive = [_split_case(t, n, size) for t, n in SPLITS for size in SIZES]
    positive += [_npm_case(sample) for sample in NPM_SAMPLES]
    return vector_file(
        "shamir",
        "Recovery shares (Shamir, GF(256))",
        "Shamir's secret sharing over GF(2^8) mod x^8+x^4+x^3+x+1; share = y_0..y_{L-1} || x; "
        "split at x = 1..n; coefficient a_{k,j} (of x^j for secret byte k) = "
        "random[k*(t-1) + j-1]; rebuild lists x coordinates in the order given to combine; "
        "below_threshold: t-1 shares give an unrelated value (no error)",
        field_polynomial="11b",
        positive=positive,
        negative=_negatives(),
    )
