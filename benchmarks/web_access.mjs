// The owner web access's speed figures (issue 19, "Speed"), side by side with the CLI doing the
// same work, against a real `vault-server` on 127.0.0.1 and Debian's Chromium driven by
// playwright-core (the harness of tests/web/webaccess.test.mjs):
//
//   PATH=/work/main/.venv/bin:$PATH node benchmarks/web_access.mjs [--quick] [--no-results]
//
// Theory of operation. One run, one account made by the real `vault` CLI (Argon2id at the
// floor: 64 MiB, t=3, the only parameters `vault init` writes):
//  1. sign-in to first list: from the click on « Se connecter » to the first document's row
//     (the worker's Argon2id in libsodium WASM, login, a new device certified and appended,
//     the whole log fetched and verified); beside it `vault login` and `vault sync` of the same
//     account on a fresh CLI device (20 small documents);
//  2. a 100 MiB document written and synced by the CLI, and `vault sync` of a fresh CLI device
//     (login not counted);
//  3. a 1 GiB file (every MiB different: random bytes, so no chunk deduplicates) uploaded through
//     « Ajouter des documents », from the tab as sign-in left it: MB/s from the file chooser to
//     « 1 document ajouté », and the tab's memory sampled every 250 ms meanwhile: RSS and private
//     (RssAnon) of the renderer process that holds the page and its worker (/proc, the pids
//     from CDP SystemInfo.getProcessInfo), the page's JS heap (CDP Performance.getMetrics) and
//     the worker's (CDP Runtime.getHeapUsage through Target.sendMessageToTarget), every
//     Chromium process summed, and the server's RSS; then a CLI device downloads the browser's
//     upload (SHA-256 checked), and `vault sync` uploads the same file to a new account (its
//     peak RSS from /proc VmHWM);
//  4. the 100 MiB document downloaded through the page: from the click on its name (the engine
//     fetches, opens and checks every chunk) to the saved download (« Télécharger »), SHA-256
//     checked equal, the tab's memory sampled, and what it keeps once the preview is closed;
//  5. where the time goes: the worker profiled (CDP Profiler, self time by function, its
//     requests timed by CDP Network) over a second, smaller upload and download, after the
//     measured ones so they stay unprofiled; the libsodium WASM floors in node (the same
//     libsodium-wrappers-sumo build, another V8); the same engine run in node; and raw fetches
//     in the page's worker (web_access_probes.mjs).
//
// Prints a Markdown table, writes benchmarks/out/web_access.{json,md} and, unless --quick or
// --no-results, replaces the generated part of its section of benchmarks/RESULTS.md (between
// the web_access markers). MB = 10^6 bytes. Wall-clock figures of one run: a loaded machine
// makes them noisy; compare the ratios of one run.
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { openSync, writeSync, closeSync, readFileSync, writeFileSync, mkdirSync, linkSync, createReadStream, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Server, Device, tempDir, cleanup, PASSPHRASE, PYTHON, ROOT, chromium, CHROMIUM } from '../tests/web/harness.mjs';
import { MB, MIB, round, procStatus, WorkerCDP, Sampler, netRecorder, profiled, floors, controls } from './web_access_probes.mjs';

const QUICK = process.argv.includes('--quick');
const WRITE_RESULTS = !QUICK && !process.argv.includes('--no-results');
const DOWNLOAD_MIB = QUICK ? 8 : 100;
const UPLOAD_MIB = QUICK ? 32 : 1024;
const PROFILE_MIB = QUICK ? 8 : 64;
const SMALL_FILES = 20;
const TARGETS = { signInMs: 3000, downloadMBs: 50, uploadTabMB: 300 };
const OUT = path.join(ROOT, 'benchmarks', 'out');
const RESULTS = path.join(ROOT, 'benchmarks', 'RESULTS.md');
const BEGIN = '<!-- web_access.mjs: begin (generated) -->';
const END = '<!-- web_access.mjs: end (generated) -->';

const log = (...a) => console.error('#', ...a);

// -- files ------------------------------------------------------------------------------------

/** A file of `mib` MiB of random bytes (every MiB different), written as it is drawn; its SHA-256. */
function randomFile(p, mib) {
  mkdirSync(path.dirname(p), { recursive: true });
  const fd = openSync(p, 'w');
  const block = Buffer.alloc(MIB);
  const h = createHash('sha256');
  for (let i = 0; i < mib; i++) {
    randomFillSync(block);
    h.update(block);
    writeSync(fd, block);
  }
  closeSync(fd);
  return h.digest('hex');
}

function sha256File(p) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(p)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

// -- the CLI ----------------------------------------------------------------------------------

/** Run the `vault` CLI of `device` (as Device.run does) asynchronously: wall time and peak RSS. */
function cliTimed(device, args) {
  const env = { ...process.env, VAULT_PASSPHRASE: PASSPHRASE, VAULT_DEVICE_NAME: device.name };
  delete env.VAULT_HOME;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const proc = spawn(PYTHON, ['-m', 'vault_client.cli', '--home', device.home, ...args], {
      cwd: existsSync(device.folder) ? device.folder : ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let peak = 0;
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const poll = setInterval(() => {
      const s = procStatus(proc.pid);
      if (s && s.hwm) peak = Math.max(peak, s.hwm);
    }, 50);
    proc.on('exit', (code) => {
      const ms = performance.now() - t0;
      clearInterval(poll);
      if (code !== 0) reject(new Error(`vault ${args.join(' ')} exited ${code}:\n${out}`));
      else resolve({ ms, peakRss: peak || null });
    });
  });
}

// -- the page ---------------------------------------------------------------------------------

async function signIn(page, handle) {
  await page.getByLabel('Identifiant', { exact: true }).fill(handle);
  await page.getByLabel('Phrase de passe', { exact: true }).fill(PASSPHRASE);
  const t0 = performance.now();
  await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
  await page.getByRole('button', { name: 'document-01.pdf', exact: true }).waitFor({ timeout: 120_000 });
  return performance.now() - t0;
}

/** Click a document's name, then « Télécharger »: {ms, engineMs, file}. */
async function download(page, name) {
  const t0 = performance.now();
  await page.getByRole('button', { name, exact: true }).click();
  const link = page.getByRole('link', { name: 'Télécharger', exact: true });
  await link.waitFor({ timeout: 600_000 });
  const tLink = performance.now();
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 600_000 }), link.click()]);
  const file = await dl.path();
  const ms = performance.now() - t0;
  await page.keyboard.press('Escape');
  return { ms, engineMs: tLink - t0, saveMs: ms - (tLink - t0), file };
}

async function upload(page, file) {
  // the last upload's toast gone first, so that this one waits for its own
  await page.getByRole('status').filter({ hasText: '1 document ajouté' }).first().waitFor({ state: 'hidden', timeout: 60_000 }).catch(() => {});
  const t0 = performance.now();
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Ajouter des documents', exact: true }).click()]);
  await chooser.setFiles([file]);
  await page.getByRole('status').filter({ hasText: '1 document ajouté' }).first().waitFor({ timeout: 3_600_000 });
  return performance.now() - t0;
}

// -- the run ----------------------------------------------------------------------------------

async function main() {
  const dir = tempDir('vault-webbench-');
  const res = {
    date: new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(),
    machine: `${os.cpus().length} cores (${os.cpus()[0].model.trim()}), ${round(os.totalmem() / 2 ** 30, 0)} GiB, ${os.type()} ${os.release()}`,
    node: process.version,
    load_start: os.loadavg().map((x) => round(x, 2)),
    quick: QUICK,
    sizes: { download_mib: DOWNLOAD_MIB, upload_mib: UPLOAD_MIB, profile_mib: PROFILE_MIB, small_files: SMALL_FILES, puts: QUICK ? 8 : 32 },
  };
  const server = new Server(dir);
  let context;
  try {
    await server.start();
    log('server', server.url);
    const jean = new Device(dir, 'jean');
    jean.run(['init', '--server', server.url, '--user', 'jean', '--folder', jean.folder]);
    const small = Buffer.alloc(48 * 1024);
    for (let i = 1; i <= SMALL_FILES; i++) {
      randomFillSync(small);
      jean.write(i <= 10 ? `document-${String(i).padStart(2, '0')}.pdf` : `Papiers/piece-${i}.pdf`, small.subarray(0, 8 * 1024 + i * 2000));
    }
    jean.run(['sync']);

    // 1. sign-in ----------------------------------------------------------------------------
    const profileDir = path.join(dir, 'chromium-profile');
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      locale: 'fr-FR',
      acceptDownloads: true,
      downloadsPath: path.join(dir, 'downloads'),
    });
    res.chromium = context.browser().version();
    const page = context.pages()[0] || (await context.newPage());
    const tGoto = performance.now();
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'Se connecter', exact: true }).waitFor();
    res.page_load_ms = round(performance.now() - tGoto, 0);
    res.signin_ms = round(await signIn(page, 'jean'), 0);
    log('sign-in to first list', res.signin_ms, 'ms');
    const cliLogin = new Device(dir, 'cli-login');
    const login = await cliTimed(cliLogin, ['login', '--server', server.url, '--user', 'jean', '--folder', cliLogin.folder]);
    const sync = await cliTimed(cliLogin, ['sync']);
    res.cli_login_ms = round(login.ms, 0);
    res.cli_first_sync_ms = round(sync.ms, 0);
    log('CLI login', res.cli_login_ms, 'ms, sync', res.cli_first_sync_ms, 'ms');

    const pageCdp = await context.newCDPSession(page);
    await pageCdp.send('Performance.enable');
    const worker = new WorkerCDP(pageCdp);
    await worker.attach();
    const browserCdp = await context.browser().newBrowserCDPSession();
    const sampler = new Sampler({ pageCdp, worker, browserCdp, serverPid: server.proc.pid });

    // 2. the CLI's download on a fresh device (the browser's after its upload) ------
    const bigName = `rapport-${DOWNLOAD_MIB}Mo.bin`;
    const bigSha = randomFile(path.join(jean.folder, bigName), DOWNLOAD_MIB);
    res.cli_upload_download_file_ms = round((await cliTimed(jean, ['sync'])).ms, 0);
    const cliDl = new Device(dir, 'cli-dl');
    await cliTimed(cliDl, ['login', '--server', server.url, '--user', 'jean', '--folder', cliDl.folder]);
    const dsync = await cliTimed(cliDl, ['sync']);
    res.cli_download_ms = round(dsync.ms, 0);
    res.cli_download_MBs = round((DOWNLOAD_MIB * MIB) / (dsync.ms / 1000) / MB, 1);
    res.cli_download_equal = (await sha256File(path.join(cliDl.folder, bigName))) === bigSha;
    log('CLI download', res.cli_download_MBs, 'MB/s');

    // 3. upload, from the tab as sign-in left it ---------------------------------------------
    const upName = `dossier-${UPLOAD_MIB}Mo.bin`;
    const upFile = path.join(dir, 'upload', upName);
    const tGen = performance.now();
    const upSha = randomFile(upFile, UPLOAD_MIB);
    log('made', upName, 'in', round((performance.now() - tGen) / 1000, 1), 's');
    sampler.start();
    const upMs = await upload(page, upFile);
    res.upload_memory = await sampler.stop();
    res.worker_wasm_memory = await worker.wasmMemory().catch((e) => String(e.message));
    res.upload_settled = await sampler.settled(res.upload_memory.renderer_pid);
    res.upload_ms = round(upMs, 0);
    res.upload_MBs = round((UPLOAD_MIB * MIB) / (upMs / 1000) / MB, 1);
    log('upload', res.upload_MBs, 'MB/s, renderer RSS peak', round(res.upload_memory.renderer_rss_peak / MB, 0), 'MB');
    // the browser's upload, read back by a CLI device
    const back = await cliTimed(cliDl, ['sync']);
    res.cli_download_of_upload_ms = round(back.ms, 0);
    res.upload_equal = (await sha256File(path.join(cliDl.folder, upName))) === upSha;
    // the CLI uploads the same file to a new account
    const paul = new Device(dir, 'paul');
    paul.run(['init', '--server', server.url, '--user', 'paul', '--folder', paul.folder]);
    linkSync(upFile, path.join(paul.folder, upName));
    const srvBefore = procStatus(server.proc.pid);
    let srvPeak = srvBefore ? srvBefore.rss : 0;
    const srvPoll = setInterval(() => {
      const s = procStatus(server.proc.pid);
      if (s) srvPeak = Math.max(srvPeak, s.rss);
    }, 100);
    const up = await cliTimed(paul, ['sync']);
    clearInterval(srvPoll);
    res.cli_upload_ms = round(up.ms, 0);
    res.cli_upload_MBs = round((UPLOAD_MIB * MIB) / (up.ms / 1000) / MB, 1);
    res.cli_upload_peak_rss = up.peakRss;
    res.cli_upload_server_rss_peak = srvPeak;
    log('CLI upload', res.cli_upload_MBs, 'MB/s');

    // 4. download: the page's status poll saw the longer log (at most every 10 s) and lists it
    await page.getByRole('button', { name: bigName, exact: true }).waitFor({ timeout: 120_000 });
    sampler.start();
    const dl = await download(page, bigName);
    res.download_memory = await sampler.stop();
    res.download_ms = round(dl.ms, 0);
    res.download_engine_ms = round(dl.engineMs, 0);
    res.download_save_ms = round(dl.saveMs, 0);
    res.download_MBs = round((DOWNLOAD_MIB * MIB) / (dl.ms / 1000) / MB, 1);
    res.download_equal = (await sha256File(dl.file)) === bigSha;
    log('download', res.download_MBs, 'MB/s, equal:', res.download_equal);
    // what the tab keeps of the download once the preview is closed and both heaps collected
    res.download_settled = await sampler.settled(res.download_memory.renderer_pid);

    // 5. where the time goes: the worker profiled over a smaller upload and a download ---------
    res.floors = await floors(QUICK);
    const profName = `profil-${PROFILE_MIB}Mo.bin`;
    const profFile = path.join(dir, 'upload', profName);
    randomFile(profFile, PROFILE_MIB);
    const net = netRecorder(worker);
    res.profile_upload = await profiled(worker, net, () => upload(page, profFile));
    res.profile_upload.MBs = round((PROFILE_MIB * MIB) / (res.profile_upload.wall_ms / 1000) / MB, 1);
    res.profile_download = await profiled(worker, net, async () => (await download(page, bigName)).ms);
    res.profile_download.MBs = round((DOWNLOAD_MIB * MIB) / (res.profile_download.wall_ms / 1000) / MB, 1);
    res.controls = await controls({ origin: server.url, handle: 'jean', file: profFile, readPath: bigName, readSha: bigSha, worker: page.workers()[0], puts: QUICK ? 8 : 32, tabPrivate: async () => (await sampler.settled(res.upload_memory.renderer_pid)).private });
    log('controls', JSON.stringify(res.controls));
    res.load_end = os.loadavg().map((x) => round(x, 2));
  } finally {
    if (context) await context.close().catch(() => {});
    await server.stop();
    cleanup(dir);
  }
  return res;
}

// -- the report -------------------------------------------------------------------------------

function report(r) {
  const f = (x, n = 1) => (x === null || x === undefined ? '–' : Number(x).toLocaleString('en-US', { minimumFractionDigits: n, maximumFractionDigits: n }));
  const mb = (b) => (b ? b / MB : null);
  const ratio = (a, b) => (a && b ? f(a / b, 2) : '–');
  const met = (ok) => (ok ? 'yes' : '**no**');
  const um = r.upload_memory;
  const cliSignIn = r.cli_login_ms + r.cli_first_sync_ms;
  const rows = [
    ['sign-in to first list (ms)', f(r.signin_ms, 0), `${f(cliSignIn, 0)} (login ${f(r.cli_login_ms, 0)} + sync ${f(r.cli_first_sync_ms, 0)})`, ratio(r.signin_ms, cliSignIn), '< 3 s', met(r.signin_ms < TARGETS.signInMs)],
    [`download of ${r.sizes.download_mib} MiB (MB/s)`, `${f(r.download_MBs)} (${f(r.download_ms / 1000, 2)} s, equal: ${r.download_equal ? 'yes' : 'NO'})`, `${f(r.cli_download_MBs)} (${f(r.cli_download_ms / 1000, 2)} s, fresh device)`, ratio(r.download_MBs, r.cli_download_MBs), '>= 50 MB/s', met(r.download_MBs >= TARGETS.downloadMBs && r.download_equal)],
    [`upload of ${r.sizes.upload_mib} MiB: tab's memory peak (MB)`, `${f(mb(um.renderer_private_peak))} private (RSS ${f(mb(um.renderer_rss_peak))})`, `${f(mb(r.cli_upload_peak_rss))} (peak RSS)`, ratio(um.renderer_private_peak, r.cli_upload_peak_rss), '< 300 MB', `${met(um.renderer_private_peak < TARGETS.uploadTabMB * MB)} (RSS: ${um.renderer_rss_peak < TARGETS.uploadTabMB * MB ? 'yes' : 'no'})`],
    [`upload of ${r.sizes.upload_mib} MiB (MB/s)`, `${f(r.upload_MBs)} (${f(r.upload_ms / 1000, 1)} s, read back equal: ${r.upload_equal ? 'yes' : 'NO'})`, `${f(r.cli_upload_MBs)} (${f(r.cli_upload_ms / 1000, 1)} s)`, ratio(r.upload_MBs, r.cli_upload_MBs), '(reported)', ''],
  ];
  const lines = [];
  lines.push(`${r.date} · at ${r.commit} · ${r.machine} · load average ${r.load_start.join(' ')} at the start, ${(r.load_end || []).join(' ')} at the end · Chromium ${r.chromium} (headless) · node ${r.node}${r.quick ? ' · **--quick**' : ''}`);
  lines.push('');
  lines.push('| figure | browser (Chromium) | CLI, same work | browser / CLI | target | met |');
  lines.push('|---|---:|---:|---:|---|:-:|');
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  lines.push('');
  const dm = r.download_memory;
  lines.push(`Sign-in: the page loaded in ${f(r.page_load_ms, 0)} ms before the click; Argon2id at the floor (64 MiB, t=3) alone takes ${f(r.floors.argon2id_floor_ms, 0)} ms in libsodium WASM (node). ` +
    `Download: ${f(r.download_engine_ms, 0)} ms from the click on the name to « Télécharger » (the engine fetches, opens and checks its ${r.controls.read_chunks} chunks, as the CLI cut them, four GETs in flight, then hands the page a Blob), ${f(r.download_save_ms, 0)} ms from there to the saved file; ` +
    `the tab's private memory during it ${f(mb(dm.renderer_private_start))} MB at the start, peak ${f(mb(dm.renderer_private_peak))} MB (RSS peak ${f(mb(dm.renderer_rss_peak))} MB), still ${f(mb(r.download_settled.private))} MB once the preview was closed and both JS heaps collected; the browser process (which holds the Blob behind the preview's object URL) ${f(mb(r.upload_settled.browser))} MB before the download, ${f(mb(r.download_settled.browser))} MB after it. ` +
    `The CLI's \`vault sync\` on a fresh device is the whole command (start, profile unlock, log, ${r.sizes.download_mib} MiB and ${r.sizes.small_files} small files).`);
  lines.push('');
  lines.push(`Upload memory (${um.samples} samples, every 250 ms; the tab's renderer is pid ${um.renderer_pid}, the largest of ${um.renderers} renderer process(es), which runs the page and its worker): ` +
    `private memory (RssAnon, what Chrome's task manager counts as the tab's footprint) ${f(mb(um.renderer_private_start))} MB at the start, peak ${f(mb(um.renderer_private_peak))} MB, ${f(mb(r.upload_settled.private))} MB after it with both JS heaps collected; at each tenth of the upload: ${um.renderer_private_tenths.map((b) => f(mb(b), 0)).join(', ')} MB; ` +
    `RSS ${f(mb(um.renderer_rss_start))} MB at the start, peak ${f(mb(um.renderer_rss_peak))} MB, of which file-backed pages (the Chromium binary and libraries, shared with its other processes) up to ${f(mb(um.renderer_file_peak))} MB and shared memory up to ${f(mb(um.renderer_shmem_peak))} MB; ` +
    `the worker's WebAssembly memory (libsodium's, sized by Argon2id at sign-in; it never shrinks) ${Array.isArray(r.worker_wasm_memory) ? r.worker_wasm_memory.map((b) => `${f(mb(b))} MB`).join(' + ') : r.worker_wasm_memory}; page JS heap peak ${f(mb(um.page_heap_peak))} MB; ` +
    `worker JS heap peak ${f(mb(um.worker_heap_peak))} MB (${um.worker_heap_samples} samples answered; libsodium's WASM memory is outside the JS heap, inside the RSS); ` +
    `browser process ${f(mb(um.browser_process_rss_peak))} MB; every Chromium process summed ${f(mb(um.chromium_total_rss_peak))} MB; server RSS peak ${f(mb(um.server_rss_peak))} MB (${f(mb(r.cli_upload_server_rss_peak))} MB during the CLI's upload). ` +
    `A CLI device then synced the browser's upload back in ${f(r.cli_download_of_upload_ms / 1000, 1)} s (${f((r.sizes.upload_mib * MIB) / (r.cli_download_of_upload_ms / 1000) / MB)} MB/s).`);
  lines.push('');
  const fl = r.floors;
  lines.push(`libsodium WASM floors (node ${r.node}, the worker's build, 1 MiB calls): seal ${fl.seal_MBs} MB/s, open ${fl.open_MBs} MB/s, SHA-256 ${fl.sha256_MBs} MB/s; a chunk's CPU work on upload (SHA-256, two HMACs, seal) ${fl.upload_chunk_MBs} MB/s, on download (open, SHA-256) ${fl.download_chunk_MBs} MB/s.`);
  lines.push('');
  for (const [what, p] of [[`upload of ${r.sizes.profile_mib} MiB`, r.profile_upload], [`download of ${r.sizes.download_mib} MiB`, r.profile_download]]) {
    const k = p.kinds;
    const pct = (x) => f((x / p.total_ms) * 100, 0);
    const reqs = Object.entries(p.requests || {}).sort((a, b) => b[1].total_ms - a[1].total_ms).map(([kind, q]) => (q.n ? `${kind}: ${q.n} × median ${f(q.median_ms)} ms (${f(q.total_ms, 0)} ms in all)` : `${kind} ${f(q.total_ms, 0)} ms`)).join('; ');
    lines.push(`Worker profile, ${what} (${f(p.MBs)} MB/s profiled, ${f(p.wall_ms, 0)} ms): idle ${pct(k.idle)}% (waiting for the network and the page), WASM ${pct(k.wasm)}%, JS ${pct(k.js)}%, GC ${pct(k.gc)}%, other ${pct(k.program)}%; top self time: ` +
      p.top.map((t) => `${t.fn.replace(/\|/g, '\\|')} ${t.share}%`).join(', ') + `. Its requests, one at a time (CDP Network, request sent to body received): ${reqs || '–'}.`);
    lines.push('');
  }
  const c = r.controls;
  lines.push(`Controls: the same engine (web/engine/engine.js) in node against the same server (undici's fetch, no browser): sign-in ${f(c.node_signin_ms, 0)} ms, upload of ${r.sizes.profile_mib} MiB ${f(c.node_upload_MBs)} MB/s, read of the ${r.sizes.download_mib} MiB document (${c.read_chunks} chunks, as the CLI cut it) ${f(c.node_read_MBs)} MB/s (equal: ${c.node_read_equal ? 'yes' : 'NO'}). ` +
    `In the page's worker, raw fetches: a PUT of 1 MiB with a Uint8Array body (as the engine sends it) median ${f(c.put_u8_ms)} ms, the same bytes as a Blob body ${f(c.put_blob_ms)} ms; the tab's private memory grew by ${f(mb(c.put_u8_private_growth))} MB over ${r.sizes.puts} PUTs of Uint8Array bodies, by ${f(mb(c.put_blob_private_growth))} MB over as many Blob bodies (heaps collected before and after); 8 MiB bodies of POST /v1/blobs/batch (8 records of 1 MiB, one Blob) ${f(c.batch_blob_MBs)} MB/s; the document's ${c.read_chunks} blobs fetched one at a time and read whole (as the engine reads) ${f(c.get_arrayBuffer_1_MBs)} MB/s, four at a time ${f(c.get_arrayBuffer_4_MBs)} MB/s; read through the body's stream reader, one at a time ${f(c.get_reader_1_MBs)} MB/s, four at a time ${f(c.get_reader_4_MBs)} MB/s (bytes only, no crypto).`);
  return lines.join('\n').trimEnd() + '\n';
}

function writeResults(md) {
  const text = readFileSync(RESULTS, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${RESULTS}: the markers of this section are missing`);
  writeFileSync(RESULTS, text.slice(0, a + BEGIN.length) + '\n\n' + md + '\n' + text.slice(b));
}

const res = await main();
const md = report(res);
mkdirSync(OUT, { recursive: true });
writeFileSync(path.join(OUT, 'web_access.json'), JSON.stringify(res, null, 1));
writeFileSync(path.join(OUT, 'web_access.md'), md);
process.stdout.write(md);
if (WRITE_RESULTS) {
  writeResults(md);
  log('written into', path.relative(ROOT, RESULTS));
}
