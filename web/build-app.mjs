// Builds the desktop app's page (web/app/) into vault_client/app/static/ (committed, so
// `pip install` serves it without node). `vault app` serves static/index.html at `/` and
// static/<name> at `/assets/<name>`. Reproducible: the same sources and locked packages give
// the same bytes.
//
//   node build-app.mjs            write ../vault_client/app/static/
//   node build-app.mjs --check    build in memory and fail if the committed files differ
//   node build-app.mjs --out DIR  write elsewhere
//   node build-app.mjs --web      the owner's web access instead: the same page built with the
//                                 in-browser engine (web/engine/, libsodium bundled, started from
//                                 engine.js with its integrity hash) into ../vault_server/static/app/,
//                                 which vault-server serves at / and /app/ (assets at /assets/)
//
// Output: index.html (Subresource Integrity on its script and style sheet), app.js (the page
// and its modules, qrcode-generator bundled), app.css, icon.svg (the share page's icon), and
// pdf.js + pdf.worker.js (pdfjs-dist, loaded only to preview a PDF; app.js carries pdf.js's
// integrity hash; neither may contain eval or new Function).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const web = args.includes('--web');
const outArg = args.indexOf('--out');
const OUT = outArg >= 0 ? path.resolve(args[outArg + 1]) : path.resolve(HERE, web ? '../vault_server/static/app' : '../vault_client/app/static');
// release.json (web access) is the signed release manifest (scripts/sign_release.py), made
// from the build with a key kept off this machine: not a build output, neither checked nor
// removed here (tests/web/test_release_route.py says when it must be signed again)
const KEEP = new Set(['__pycache__', '__init__.py', ...(web ? ['release.json'] : [])]);

const TARGET = ['chrome100', 'firefox102', 'safari15.4', 'edge100'];
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
    ...extra,
  });
  if (res.outputFiles.length !== 1) throw new Error(`unexpected esbuild output for ${entry}`);
  return Buffer.from(res.outputFiles[0].contents);
}

async function main() {
  const files = new Map();
  const pdf = await bundle('app/pdf-lib.js');
  const pdfWorker = await bundle('pdfjs-dist/build/pdf.worker.mjs');
  for (const [name, buf] of [['pdf.js', pdf], ['pdf.worker.js', pdfWorker]]) {
    if (/\beval\s*\(|\bnew\s+Function\s*\(/.test(buf.toString('utf8'))) throw new Error(`${name}: eval or new Function in the bundle`);
  }
  files.set('pdf.js', pdf);
  files.set('pdf.worker.js', pdfWorker);
  let engineSri = '';
  if (web) {
    const engine = await bundle('engine/worker.js');
    if (/\bnew\s+Function\s*\(/.test(engine.toString('utf8'))) throw new Error('engine.js: new Function in the bundle');
    files.set('engine.js', engine);
    engineSri = sri(engine);
  }
  const define = { __PDF_SRI__: JSON.stringify(sri(pdf)), __WEB_ACCESS__: JSON.stringify(web), __ENGINE_SRI__: JSON.stringify(engineSri) };
  const js = await bundle('app/app.js', { define });
  const css = await bundle('app/app.css', { format: undefined });
  const icon = readFileSync(path.join(HERE, 'src/icon.svg'));
  files.set('app.js', js);
  files.set('app.css', css);
  files.set('icon.svg', icon);
  const fill = { JS_SRI: sri(js), CSS_SRI: sri(css) };
  let html = readFileSync(path.join(HERE, 'app/index.html'), 'utf8');
  html = html.replace(/\{\{(\w+)\}\}/g, (m, k) => {
    if (!(k in fill)) throw new Error(`unknown placeholder ${m}`);
    return fill[k];
  });
  if (/<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=/i.test(html)) throw new Error('inline script, style or handler in app/index.html');
  files.set('index.html', Buffer.from(html, 'utf8'));
  if (web) {
    // the French page on what web access protects against (no script at all)
    let sec = readFileSync(path.join(HERE, 'app/securite.html'), 'utf8').replace(/\{\{CSS_SRI\}\}/g, sri(css));
    if (/<script|\sstyle=|\son[a-z]+=/i.test(sec)) throw new Error('script, style or handler in app/securite.html');
    files.set('securite.html', Buffer.from(sec, 'utf8'));
    // what vault-server checks before serving a byte: every file's SHA-256 and type
    const types = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.html': 'text/html' };
    const list = [...files.keys()].sort().map((name) => [name, { sha256: createHash('sha256').update(files.get(name)).digest('hex'), type: types[path.extname(name)] }]);
    files.set('assets.json', Buffer.from(JSON.stringify({ files: Object.fromEntries(list) }, null, 1) + '\n', 'utf8'));
  }

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
      console.error(`app build check: ${OUT} is not what the sources build:\n  ${problems.join('\n  ')}`);
      console.error('run scripts/build-web.sh and commit vault_client/app/static/');
      process.exit(1);
    }
    console.log(`app build check: ${OUT} matches the sources (${files.size} files)`);
    return;
  }
  mkdirSync(OUT, { recursive: true });
  for (const f of readdirSync(OUT)) {
    if (!files.has(f) && !KEEP.has(f)) rmSync(path.join(OUT, f), { recursive: true, force: true });
  }
  for (const [name, buf] of files) writeFileSync(path.join(OUT, name), buf);
  const total = [...files.values()].reduce((n, b) => n + b.length, 0);
  console.log(`app build: ${files.size} files, ${total} bytes → ${path.relative(process.cwd(), OUT) || OUT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
