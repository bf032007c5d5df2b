// Builds the share page into vault_server/static/ (committed, so `pip install` serves it
// without node). Reproducible: the same sources and locked packages give the same bytes.
//
//   node build.mjs            write ../vault_server/static/
//   node build.mjs --check    build in memory and fail if the committed files differ
//   node build.mjs --out DIR  write elsewhere
//
// Output: index.html (the page, with Subresource Integrity on its script and style sheet),
// assets.json (content SHA-256 → file and type: the server serves /s/assets/<sha256> from it),
// app.js (the page), worker.js (libsodium + protocol: fetched by app.js with SRI), app.css,
// icon.svg.
import { build, version as esbuildVersion } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const outArg = args.indexOf('--out');
const OUT = outArg >= 0 ? path.resolve(args[outArg + 1]) : path.resolve(HERE, '../vault_server/static');

const TARGET = ['chrome100', 'firefox102', 'safari15.4', 'edge100'];

const sha256hex = (buf) => createHash('sha256').update(buf).digest('hex');
const sri = (buf) => `sha384-${createHash('sha384').update(buf).digest('base64')}`;

async function bundle(entry, extra = {}) {
  const res = await build({
    absWorkingDir: HERE,
    entryPoints: [entry],
    bundle: true,
    write: false,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: TARGET,
    charset: 'utf8',
    legalComments: 'eof',
    sourcemap: false,
    logLevel: 'error',
    // libsodium's loader has a Node.js branch (require("crypto")) that a browser never takes
    external: ['crypto', 'fs', 'path'],
    ...extra,
  });
  if (res.outputFiles.length !== 1) throw new Error(`unexpected esbuild output for ${entry}`);
  return Buffer.from(res.outputFiles[0].contents);
}

function pkgVersion(name) {
  return JSON.parse(readFileSync(path.join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version;
}

async function main() {
  const files = new Map(); // name → Buffer

  const worker = await bundle('src/worker.js');
  const workerSha = sha256hex(worker);
  const app = await bundle('src/app.js', {
    define: {
      __WORKER_ASSET__: JSON.stringify(workerSha),
      __WORKER_SRI__: JSON.stringify(sri(worker)),
    },
  });
  const css = await bundle('src/app.css', { format: undefined, external: [] });
  const icon = readFileSync(path.join(HERE, 'src/icon.svg'));

  const assets = {};
  const add = (name, buf, type) => {
    files.set(name, buf);
    assets[sha256hex(buf)] = { file: name, type };
  };
  add('worker.js', worker, 'text/javascript; charset=utf-8');
  add('app.js', app, 'text/javascript; charset=utf-8');
  add('app.css', css, 'text/css; charset=utf-8');
  add('icon.svg', icon, 'image/svg+xml');

  const fill = {
    JS: sha256hex(app),
    JS_SRI: sri(app),
    CSS: sha256hex(css),
    CSS_SRI: sri(css),
    ICON: sha256hex(icon),
  };
  let html = readFileSync(path.join(HERE, 'src/index.html'), 'utf8');
  html = html.replace(/\{\{(\w+)\}\}/g, (m, k) => {
    if (!(k in fill)) throw new Error(`unknown placeholder ${m}`);
    return fill[k];
  });
  files.set('index.html', Buffer.from(html, 'utf8'));

  const sorted = Object.fromEntries(Object.keys(assets).sort().map((k) => [k, assets[k]]));
  const manifest = {
    assets: sorted,
    built_with: {
      esbuild: esbuildVersion,
      'libsodium-wrappers-sumo': pkgVersion('libsodium-wrappers-sumo'),
      'libsodium-sumo': pkgVersion('libsodium-sumo'),
    },
    page: 'index.html',
    page_sha256: sha256hex(files.get('index.html')),
  };
  files.set('assets.json', Buffer.from(JSON.stringify(manifest, null, 1) + '\n', 'utf8'));

  // app/ is the web access page, another build's output (build-app.mjs --web): not ours to
  // check or remove
  const KEEP = new Set(['__pycache__', 'app']);
  if (check) {
    const problems = [];
    const present = existsSync(OUT) ? readdirSync(OUT).filter((f) => !KEEP.has(f)) : [];
    for (const [name, buf] of files) {
      const p = path.join(OUT, name);
      if (!existsSync(p)) problems.push(`missing ${name}`);
      else if (!readFileSync(p).equals(buf)) problems.push(`differs: ${name}`);
    }
    for (const f of present) if (!files.has(f)) problems.push(`unexpected file ${f}`);
    if (problems.length) {
      console.error(`web build check: ${OUT} is not what the sources build:\n  ${problems.join('\n  ')}`);
      console.error('run scripts/build-web.sh and commit vault_server/static/');
      process.exit(1);
    }
    console.log(`web build check: ${OUT} matches the sources (${files.size} files)`);
    return;
  }
  mkdirSync(OUT, { recursive: true });
  for (const f of readdirSync(OUT)) {
    if (!files.has(f) && !KEEP.has(f)) rmSync(path.join(OUT, f), { recursive: true, force: true });
  }
  for (const [name, buf] of files) writeFileSync(path.join(OUT, name), buf);
  const total = [...files.values()].reduce((n, b) => n + b.length, 0);
  console.log(`web build: ${files.size} files, ${total} bytes → ${path.relative(process.cwd(), OUT) || OUT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
