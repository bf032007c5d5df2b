// Shamir's secret sharing (SPEC §Recovery shares) cross-checked with an independent
// implementation, the npm package shamir-secret-sharing (privy-io), pinned in package.json,
// over protocol/vectors/shamir.json, in both directions.
//
// Field: the package multiplies with log/exp tables (generator 0xe5) of GF(2^8) mod
// x^8 + x^4 + x^3 + x + 1 (0x11b), the SPEC's field; a test checks the package's products
// against the SPEC's (every a times every c other than 0 and 1), so both sides below compute in
// the same field.
//
// Share encoding: none to convert. The package's share of an L-byte secret is L + 1 bytes,
// y_0 .. y_{L-1} || x (x coordinate LAST), exactly the SPEC's. Two differences, both in what is
// accepted, not in the bytes: the package's split draws its x coordinates as a random shuffle of
// 1..255 (the SPEC's split uses x = 1..n), and its combine accepts a share with x = 0 (the SPEC
// MUST reject it; the package returns that share's data). Its split also draws its own
// randomness, so to compare split byte for byte the package's own module is loaded a second time
// with its randomness source (its 'shamir-secret-sharing/csprng' import) replaced by one that
// returns first 0, 1, .., 254 (its shuffle then swaps every x with itself: x = 1..n) and then
// the vector's `random`, which the package consumes as the SPEC lays it out (for each secret
// byte, the coefficients of x^1 .. x^(t-1)).
//
// "Ours" below is written from the SPEC text alone (shift-and-add product reduced by 0x11b,
// Lagrange at 0): nothing is imported from the Python core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as npm from 'shamir-secret-sharing';

const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../protocol/vectors');
const DOC = JSON.parse(readFileSync(path.join(VECTORS, 'shamir.json'), 'utf8'));
const PKG = JSON.parse(
  readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../package.json'), 'utf8'),
);

const H = (s) => Uint8Array.from(s.match(/../g) || [], (b) => parseInt(b, 16));
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

// -- the package a second time, its randomness from the test --------------------------------------

const HOOKS = `
export async function resolve(specifier, context, next) {
  if (specifier === 'shamir-secret-sharing/csprng' && (context.parentURL || '').endsWith('?fed')) {
    const src = 'export function getRandomBytes(n) { return globalThis.__shamirFeed(n); }';
    return { url: 'data:text/javascript,' + encodeURIComponent(src), shortCircuit: true };
  }
  return next(specifier, context);
}`;
register('data:text/javascript,' + encodeURIComponent(HOOKS));
const fed = await import(import.meta.resolve('shamir-secret-sharing') + '?fed');

/** The package's split fed with `bytes`; fails unless it consumes exactly all of them. */
async function fedSplit(secret, n, t, random) {
  const identity = Uint8Array.from({ length: 255 }, (_, i) => i);
  const bytes = new Uint8Array([...identity, ...random]);
  let at = 0;
  globalThis.__shamirFeed = (k) => {
    assert.ok(at + k <= bytes.length, 'the package asked for more randomness than the SPEC uses');
    const out = bytes.slice(at, at + k);
    at += k;
    return out;
  };
  try {
    const shares = await fed.split(secret, n, t);
    assert.equal(at, bytes.length, 'the package used less randomness than the SPEC');
    return shares;
  } finally {
    delete globalThis.__shamirFeed;
  }
}

// -- ours, from the SPEC text ----------------------------------------------------------------------

/** a * b in GF(2)[x] / (x^8 + x^4 + x^3 + x + 1). */
function mul(a, b) {
  let r = 0;
  for (let i = 0; i < 8; i++) {
    if ((b >> i) & 1) r ^= a << i;
  }
  for (let i = 14; i >= 8; i--) {
    if ((r >> i) & 1) r ^= 0x11b << (i - 8);
  }
  return r;
}

function inv(a) {
  for (let b = 1; b < 256; b++) if (mul(a, b) === 1) return b;
  throw new Error('0 has no inverse');
}

/** SPEC §Recovery shares, Split: x = 1..n, a_{k,j} = R[k(t-1) + j-1], share = y || x. */
function ourSplit(secret, n, t, random) {
  if (!(t >= 2 && t <= n && n <= 255)) throw new Error('bad t or n');
  if (secret.length < 1 || random.length !== (t - 1) * secret.length) throw new Error('bad input');
  const shares = [];
  for (let x = 1; x <= n; x++) {
    const share = new Uint8Array(secret.length + 1);
    share[secret.length] = x;
    for (let k = 0; k < secret.length; k++) {
      let y = secret[k];
      let power = 1;
      for (let j = 1; j < t; j++) {
        power = mul(power, x);
        y ^= mul(random[k * (t - 1) + j - 1], power);
      }
      share[k] = y;
    }
    shares.push(share);
  }
  return shares;
}

/** SPEC §Recovery shares, Combine, with its MUST-reject rules. */
function ourCombine(shares) {
  if (shares.length < 2) throw new Error('fewer than two shares');
  const size = shares[0].length;
  if (size < 2) throw new Error('a share shorter than 2 bytes');
  if (shares.some((s) => s.length !== size)) throw new Error('shares of different lengths');
  const xs = shares.map((s) => s[size - 1]);
  if (xs.includes(0)) throw new Error('a share with x = 0');
  if (new Set(xs).size !== xs.length) throw new Error('two shares with the same x');
  const basis = xs.map((xi, i) => {
    let l = 1;
    xs.forEach((xj, j) => {
      if (j !== i) l = mul(l, mul(xj, inv(xi ^ xj)));
    });
    return l;
  });
  const out = new Uint8Array(size - 1);
  for (let k = 0; k < size - 1; k++) {
    let acc = 0;
    shares.forEach((s, i) => {
      acc ^= mul(s[k], basis[i]);
    });
    out[k] = acc;
  }
  return out;
}

/** Every subset of `items` of size `k`, in lexicographic order. */
function* subsets(items, k, from = 0, acc = []) {
  if (acc.length === k) {
    yield acc;
    return;
  }
  for (let i = from; i <= items.length - (k - acc.length); i++) {
    yield* subsets(items, k, i + 1, [...acc, items[i]]);
  }
}

const SPLITS = DOC.positive.filter((c) => c.op === 'shamir_split');
const SAMPLES = DOC.positive.filter((c) => c.op === 'shamir_combine');
const at = (c, xs) => xs.map((x) => H(c.shares[x - 1]));

// -- the cases -------------------------------------------------------------------------------------

test('the vectors and the pinned package are the ones this file compares', () => {
  assert.equal(DOC.field_polynomial, '11b');
  assert.equal(PKG.devDependencies['shamir-secret-sharing'], '0.0.4');
  assert.equal(SPLITS.length, 12);
  assert.equal(SAMPLES.length, 2);
  assert.deepEqual(
    DOC.positive.map((c) => c.op).filter((op) => op !== 'shamir_split' && op !== 'shamir_combine'),
    [],
  );
});

test('the package computes in the SPEC field (0x11b): a * c agrees for every a and c', async () => {
  // The package exports no product; a 2-of-2 combine of (x=1, y=a) and (x=2, y=0) is
  // a * l_1 = a * 2 / (1 + 2), and with (x=1, y=a), (x=b, y=0), b != 1: a * b / (1 + b).
  for (let a = 0; a < 256; a++) {
    for (let b = 2; b < 256; b++) {
      const got = await npm.combine([new Uint8Array([a, 1]), new Uint8Array([0, b])]);
      assert.equal(got[0], mul(a, mul(b, inv(1 ^ b))), `a=${a} b=${b}`);
    }
  }
  // c = b / (1 + b) takes every value but 0 and 1 (a * 0 and a * 1 need no table).
  const reached = new Set();
  for (let b = 2; b < 256; b++) reached.add(mul(b, inv(1 ^ b)));
  assert.equal(reached.size, 254); // all but 0 and 1 (1 would need b = 1 + b)
});

test('the SPEC split (written here) gives every vector share', () => {
  for (const c of SPLITS) {
    const shares = ourSplit(H(c.secret), c.n, c.t, H(c.random));
    assert.deepEqual(shares.map(hex), c.shares, c.name);
  }
});

test("the package's own split, fed the vector's randomness, gives every vector share", async () => {
  for (const c of SPLITS) {
    const shares = await fedSplit(H(c.secret), c.n, c.t, H(c.random));
    assert.deepEqual(shares.map(hex), c.shares, c.name);
  }
});

test("the package's combine rebuilds each vector's secret from its rebuild lists", async () => {
  for (const c of SPLITS) {
    assert.ok(c.rebuild.length >= 3, c.name);
    for (const xs of c.rebuild) {
      assert.equal(hex(await npm.combine(at(c, xs))), c.secret, `${c.name} from x = ${xs}`);
      assert.equal(hex(ourCombine(at(c, xs))), c.secret, `${c.name} from x = ${xs}`);
    }
  }
});

test('any t of the shares rebuild the secret, with both combiners', async () => {
  for (const c of SPLITS) {
    const xs = c.shares.map((_, i) => i + 1);
    let count = 0;
    for (const subset of subsets(xs, c.t)) {
      // 2 of 255: all 32385 pairs with the package, every 7th with ours (the slow one).
      const shares = at(c, subset);
      assert.equal(hex(await npm.combine(shares)), c.secret, `${c.name} from x = ${subset}`);
      if (count++ % (c.n > 5 ? 7 : 1) === 0) assert.equal(hex(ourCombine(shares)), c.secret);
      // ... and in the reverse order
      if (c.n <= 5) assert.equal(hex(await npm.combine(shares.reverse())), c.secret);
    }
    assert.ok(count >= 1, c.name);
  }
});

test('t-1 shares do not give the secret: the unrelated value of the vectors, every secret possible', async () => {
  for (const c of SPLITS) {
    const below = c.t - 1;
    if (c.below_threshold) {
      const shares = at(c, c.below_threshold.x);
      assert.equal(c.below_threshold.x.length, below);
      assert.equal(hex(await npm.combine(shares)), c.below_threshold.output, c.name);
      assert.equal(hex(ourCombine(shares)), c.below_threshold.output, c.name);
      assert.notEqual(c.below_threshold.output, c.secret, c.name);
    } else {
      // t = 2: one share; neither combiner takes a single share
      assert.equal(below, 1, c.name);
      await assert.rejects(npm.combine(at(c, [1])), Error, c.name);
      assert.throws(() => ourCombine(at(c, [1])), Error, c.name);
    }
    // Every t-1 shares (the first t-1 here) fit every secret: completed by a t-th point at an
    // unused x with each of the 256 values y, they rebuild each byte value exactly once.
    const known = at(c, Array.from({ length: below }, (_, i) => i + 1));
    const size = known[0].length - 1;
    const xNew = c.t; // unused by the first t-1 shares
    const seen = Array.from({ length: size }, () => new Set());
    for (let y = 0; y < 256; y++) {
      const extra = new Uint8Array(size + 1).fill(y);
      extra[size] = xNew;
      const got = await npm.combine([...known, extra]);
      got.forEach((v, k) => seen[k].add(v));
    }
    seen.forEach((s, k) => assert.equal(s.size, 256, `${c.name} byte ${k}`));
  }
});

test("npm-sample vectors (made by the package's split) rebuild with the SPEC combine", async () => {
  for (const c of SAMPLES) {
    assert.match(c.source, /^shamir-secret-sharing 0\.0\.4 split/);
    const all = c.all_shares.map(H);
    assert.equal(hex(ourCombine(c.shares.map(H))), c.secret, c.name);
    assert.equal(hex(await npm.combine(c.shares.map(H))), c.secret, c.name);
    for (const subset of subsets(all, c.t)) {
      assert.equal(hex(ourCombine(subset)), c.secret, c.name);
      assert.equal(hex(await npm.combine(subset)), c.secret, c.name);
    }
    for (const subset of subsets(all, c.t - 1)) {
      if (subset.length >= 2) assert.notEqual(hex(ourCombine(subset)), c.secret, c.name);
    }
  }
});

test("the package's split with real randomness: its shares rebuild with the SPEC combine", async () => {
  for (const [t, n] of [
    [2, 2],
    [2, 3],
    [3, 5],
    [5, 5],
    [4, 9],
    [2, 255],
  ]) {
    for (const size of [1, 16, 32, 33]) {
      const secret = new Uint8Array(size);
      globalThis.crypto.getRandomValues(secret);
      const shares = await npm.split(secret, n, t);
      assert.equal(shares.length, n);
      for (const s of shares) assert.equal(s.length, size + 1); // y_0 .. y_{L-1} || x
      const xs = shares.map((s) => s[size]);
      assert.equal(new Set(xs).size, n);
      assert.ok(xs.every((x) => x >= 1 && x <= 255));
      assert.deepEqual(ourCombine(shares.slice(0, t)), secret, `${t} of ${n}, ${size} bytes`);
      assert.deepEqual(ourCombine(shares.slice(-t).reverse()), secret, `${t} of ${n}, last t`);
      assert.deepEqual(ourCombine(shares), secret, `${t} of ${n}, all`);
    }
  }
});

test('negative vectors: the SPEC combine and split reject them all; the package all but x = 0', async () => {
  const NOT_THE_PACKAGE = {
    // The package's combine interpolates with x = 0 like any other x (it returns that share's
    // data); the SPEC MUST reject it, and the SPEC says the package differs there.
    'a share with x = 0': 'accepted by the package',
    // The package draws its own randomness: a wrong length of `random` cannot be given to it.
    'randomness one byte short': 'not applicable',
    'randomness one byte too long': 'not applicable',
  };
  const names = DOC.negative.map((c) => c.name);
  for (const name of Object.keys(NOT_THE_PACKAGE)) assert.ok(names.includes(name), name);
  for (const c of DOC.negative) {
    assert.equal(c.error, 'FormatError', c.name);
    if (c.op === 'shamir_combine') {
      const shares = c.shares.map(H);
      assert.throws(() => ourCombine(shares), Error, c.name);
      if (NOT_THE_PACKAGE[c.name]) await assert.doesNotReject(npm.combine(shares), c.name);
      else await assert.rejects(npm.combine(shares), Error, c.name);
    } else {
      assert.equal(c.op, 'shamir_split', c.name);
      assert.throws(() => ourSplit(H(c.secret), c.n, c.t, H(c.random)), Error, c.name);
      if (!NOT_THE_PACKAGE[c.name]) await assert.rejects(npm.split(H(c.secret), c.n, c.t), Error, c.name);
    }
  }
});
