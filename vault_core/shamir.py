"""Shamir's secret sharing over GF(256): pure, the randomness is an input (SPEC §Recovery shares).

The field is GF(2^8) with the AES polynomial ``x^8 + x^4 + x^3 + x + 1`` (0x11b), as in the
npm package ``shamir-secret-sharing`` (privy-io), whose share format this module uses byte for
byte: a share of an ``L``-byte secret is ``L + 1`` bytes, ``y_0 .. y_{L-1} || x``.

* :func:`split` evaluates, for every secret byte ``s_k``, a polynomial of degree ``t - 1``
  with constant term ``s_k`` and coefficients ``a_{k,1} .. a_{k,t-1}`` taken from ``random``
  in this order: ``a_{k,j} = random[k * (t - 1) + (j - 1)]`` (byte by byte of the secret, then
  coefficient of ``x^1``, ``x^2``, ... up to ``x^(t-1)``), at ``x = 1 .. n``; share ``i``
  (0-based) has ``x = i + 1``. The caller passes exactly ``(t - 1) * L`` bytes from a CSPRNG.
* :func:`combine` interpolates at ``x = 0`` (Lagrange) from any two or more shares. It cannot
  know ``t``: given fewer than ``t`` shares of one split, or shares of different splits, it
  returns a value unrelated to the secret, with no error. Its caller MUST authenticate the
  result (the recovery protocol's rebuilt secret is a key that must open an AEAD-sealed
  bundle).

The arithmetic is table-free (shift-and-add multiplication with masks, inversion as
``a^254``): no memory access and no branch depends on a secret byte. Python integers give no
constant-time guarantee, so this is "constant-time-ish", not a side-channel claim.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import FormatError

MAX_SHARES = 255  # x = 1 .. 255; x = 0 would be the secret itself


def _mul(a: int, b: int) -> int:
    """a * b in GF(2^8) mod x^8 + x^4 + x^3 + x + 1, without tables or secret branches."""
    r = 0
    for _ in range(8):
        r ^= -(b & 1) & a
        a = ((a << 1) & 0xFF) ^ (-(a >> 7) & 0x1B)
        b >>= 1
    return r


def _inv(a: int) -> int:
    """a^-1 = a^254 in GF(2^8) (a fixed chain of squarings and products; _inv(0) = 0)."""
    a2 = _mul(a, a)
    a3 = _mul(a2, a)  # a^3
    a6 = _mul(a3, a3)
    a12 = _mul(a6, a6)
    a15 = _mul(a12, a3)  # a^15
    a30 = _mul(a15, a15)
    a60 = _mul(a30, a30)
    a63 = _mul(a60, a3)  # a^63
    a126 = _mul(a63, a63)
    a127 = _mul(a126, a)  # a^127
    return _mul(a127, a127)  # a^254


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def split(secret: bytes, n: int, t: int, random: bytes) -> list[bytes]:
    """Split ``secret`` into ``n`` shares, any ``t`` of which rebuild it.

    ``random`` is exactly ``(t - 1) * len(secret)`` bytes from a CSPRNG, consumed as the
    module docstring says. Raises FormatError for ``t < 2``, ``t > n``, ``n > 255``, an empty
    secret or a ``random`` of any other length.
    """
    if not (_is_int(n) and _is_int(t)):
        raise FormatError("shamir: n and t must be integers")
    if t < 2:
        raise FormatError("shamir: the threshold must be at least 2")
    if t > n:
        raise FormatError("shamir: the threshold cannot exceed the number of shares")
    if n > MAX_SHARES:
        raise FormatError("shamir: at most 255 shares")
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise FormatError("shamir: the secret must be non-empty bytes")
    if not isinstance(random, bytes | bytearray):
        raise FormatError("shamir: random must be bytes")
    degree = t - 1
    if len(random) != degree * len(secret):
        raise FormatError(f"shamir: random must be exactly {degree * len(secret)} bytes")
    shares = [bytearray(len(secret) + 1) for _ in range(n)]
    for i, share in enumerate(shares):
        share[-1] = i + 1
    for k, s in enumerate(secret):
        coeffs = random[k * degree : (k + 1) * degree]  # a_1 .. a_{t-1}
        for i, share in enumerate(shares):
            x = i + 1
            y = 0
            for a in reversed(coeffs):  # Horner: ((a_{t-1} x + a_{t-2}) x + ...) x + s
                y = _mul(y ^ a, x)
            share[k] = y ^ s
    return [bytes(share) for share in shares]


def combine(shares: Sequence[bytes]) -> bytes:
    """Rebuild the secret from two or more shares (interpolation at x = 0).

    Raises FormatError for fewer than two shares, a share shorter than two bytes, shares of
    different lengths, a share with ``x = 0`` or two shares with the same ``x``. With fewer
    than ``t`` shares (``t`` is not encoded) the result is a value unrelated to the secret:
    the caller MUST authenticate what this returns.
    """
    if isinstance(shares, bytes | bytearray | str) or len(shares) < 2:
        raise FormatError("shamir: at least two shares are needed")
    for share in shares:
        if not isinstance(share, bytes | bytearray):
            raise FormatError("shamir: a share must be bytes")
    size = len(shares[0])
    if size < 2:
        raise FormatError("shamir: a share is at least two bytes (data and x)")
    if any(len(share) != size for share in shares):
        raise FormatError("shamir: the shares have different lengths")
    xs = [share[-1] for share in shares]
    if 0 in xs:
        raise FormatError("shamir: a share has x = 0")
    if len(set(xs)) != len(xs):
        raise FormatError("shamir: two shares have the same x")
    # Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_i - x_j); subtraction is XOR.
    basis = []
    for i, xi in enumerate(xs):
        num = 1
        den = 1
        for j, xj in enumerate(xs):
            if j != i:
                num = _mul(num, xj)
                den = _mul(den, xi ^ xj)
        basis.append(_mul(num, _inv(den)))
    out = bytearray(size - 1)
    for k in range(size - 1):
        acc = 0
        for share, li in zip(shares, basis, strict=True):
            acc ^= _mul(share[k], li)
        out[k] = acc
    return bytes(out)
