// The Assets Workspace in a real browser: `prometeu-studio` started on a temporary
// project as a person would, the page opened with its token in headless Chromium, the
// project edited by hand underneath it, and the token, Host and Origin rules tried from
// outside. Every wait has a deadline; anything missing (a binary, the browser) fails
// the run loudly, nothing is skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const repo = path.resolve(import.meta.dirname, '../../..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(repo, 'target');
const studioBin = process.env.STUDIO_BIN || path.join(targetDir, 'debug', 'prometeu-studio');
const packerBin = process.env.PACKER_BIN || path.join(targetDir, 'debug', 'prometeu-packer');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const screenshots = process.env.STUDIO_E2E_SCREENSHOTS || path.join(targetDir, 'studio-e2e');
const demoAssets = path.join(repo, 'examples', 'demo-project', 'assets');

const STEP = 20_000;

for (const [what, file] of [['prometeu-studio', studioBin], ['prometeu-packer', packerBin], ['Chromium', chromiumPath]]) {
  if (!fs.existsSync(file)) {
    throw new Error(`${what} not found at ${file}: build with \`cargo build -p studio -p packer-cli\` and install Chromium (\`apt-get install -y chromium\`)`);
  }
}

function packer(project, ...args) {
  return execFileSync(packerBin, ['--project', project, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// A project with three images (real PNG files) and one data asset, made with the CLI.
function makeProject() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prometeu-studio-e2e-'));
  execFileSync(packerBin, ['init', dir], { stdio: 'ignore' });
  const assets = path.join(dir, 'assets');
  const images = [
    ['sprites/hero', 'sprites/hero/hero.png'],
    ['sprites/slime', 'sprites/slime/slime_0.png'],
    ['ui/coin', 'ui/icons/coin/coin.png'],
  ];
  for (const [root, source] of images) {
    fs.mkdirSync(path.join(assets, root), { recursive: true });
    fs.copyFileSync(path.join(demoAssets, source), path.join(assets, root, path.basename(source)));
    packer(dir, 'add', root, '--kind', 'image', '--input', path.basename(source));
  }
  fs.mkdirSync(path.join(assets, 'data/level1'), { recursive: true });
  fs.writeFileSync(path.join(assets, 'data/level1/level.json'), '{ "width": 16, "height": 9 }\n');
  packer(dir, 'add', 'data/level1', '--kind', 'data', '--input', 'level.json');
  return dir;
}

function registry(project) {
  return JSON.parse(fs.readFileSync(path.join(project, 'assets', '.prometeu', 'index.json'), 'utf8'));
}

// Starts the binary (with `args` added) and resolves with its printed URL.
function startStudio(project, ...args) {
  const child = spawn(studioBin, ['--project', project, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => { output += chunk; process.stderr.write(`[studio] ${chunk}`); });
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within ${STEP} ms; output: ${output}`)), STEP);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const found = output.match(/http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}/);
      if (found) {
        clearTimeout(timer);
        resolve(new URL(found[0]));
      }
    });
    child.on('exit', (code) => reject(new Error(`prometeu-studio exited (${code}) before printing its URL: ${output}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, url, exited };
}

// One raw request, with exactly the headers given (Host included).
function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: url.port,
      method,
      path: url.pathname + url.search,
      headers: {
        Host: url.host,
        ...(body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) }),
        ...headers,
      },
      timeout: STEP,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function banner(page, state) {
  await page.locator(`#banner[data-state="${state}"]`).waitFor({ timeout: STEP });
}

test('the Assets Workspace in a browser, while the project is edited by hand', async (t) => {
  const project = makeProject();
  let studio = startStudio(project);
  const url = await studio.url;
  const token = url.searchParams.get('token');
  const api = (p) => new URL(`${p}`, url.origin);
  fs.mkdirSync(screenshots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  try {
    await t.test('the page shows the assets with thumbnails', async () => {
      await page.goto(url.href);
      await banner(page, 'ready');
      await page.locator('#assets tbody tr').nth(3).waitFor({ timeout: STEP });
      assert.equal(await page.locator('#assets tbody tr').count(), 4);
      const roots = await page.locator('#assets td.root').allTextContents();
      assert.deepEqual(roots, ['sprites/hero', 'sprites/slime', 'ui/coin', 'data/level1']);
      await page.waitForFunction(() => {
        const img = document.querySelector('tr[data-asset-id="1"] td.thumb img');
        return img && img.complete && img.naturalWidth === 16;
      }, null, { timeout: STEP });
      assert.equal(await page.locator('tr[data-asset-id="4"] td.thumb img').count(), 0, 'no thumbnail for a data asset');
      assert.match(await page.locator('#log').textContent(), /runtime_started/);
      await page.screenshot({ path: path.join(screenshots, 'assets.png'), fullPage: true });
    });

    await t.test('excluding an asset is a command that reaches the registry on disk', async () => {
      const answered = page.waitForResponse((r) => r.url().endsWith('/api/set_included'), { timeout: STEP });
      await page.locator('tr[data-asset-id="2"] input.included').uncheck();
      const response = await answered;
      assert.equal(response.status(), 200);
      const result = await response.json();
      assert.equal(registry(project).assets.find((a) => a.asset_id === 2).included_in_build, false);
      // The event log names the command that caused the commit.
      await page.locator(`#log tr[data-event="snapshot_committed"] td:nth-child(4):text-is("${result.command_id}")`)
        .waitFor({ timeout: STEP });
    });

    await t.test('a folder moved by hand: diverged, relocate, apply, ready', async () => {
      fs.mkdirSync(path.join(project, 'assets', 'characters'));
      fs.renameSync(path.join(project, 'assets', 'sprites', 'hero'), path.join(project, 'assets', 'characters', 'hero'));
      await banner(page, 'diverged');
      await page.locator('#drifts li[data-kind="root_moved"]').waitFor({ timeout: STEP });
      const apply = page.locator('#plan tr[data-kind="relocate"] button.apply');
      await apply.waitFor({ timeout: STEP });
      await page.screenshot({ path: path.join(screenshots, 'diverged.png'), fullPage: true });
      await apply.click();
      await banner(page, 'ready');
      assert.equal(registry(project).assets.find((a) => a.asset_id === 1).root, 'characters/hero');
      await page.locator('tr[data-asset-id="1"] td.root:text-is("characters/hero")').waitFor({ timeout: STEP });
      await page.waitForFunction(() => {
        const img = document.querySelector('tr[data-asset-id="1"] td.thumb img');
        return img && img.complete && img.naturalWidth === 16;
      }, null, { timeout: STEP });
      assert.equal(await page.locator('#plan tr').count(), 0);
    });

    await t.test('build: progress, then the pack on disk', async () => {
      await page.locator('#build').click();
      await page.locator('#build-result:has-text("bytes")').waitFor({ timeout: STEP * 3 });
      assert.ok(fs.existsSync(path.join(project, 'build', 'assets.pak')), 'build/assets.pak exists');
      await page.locator('#log tr[data-event="build_completed"]').waitFor({ timeout: STEP });
      assert.equal(await page.locator('#build-progress').evaluate((p) => p.value === p.max), true);
      await page.screenshot({ path: path.join(screenshots, 'ready.png'), fullPage: true });
    });

    await t.test('a refused build says so and leaves no progress bar running', async () => {
      const declaration = path.join(project, 'assets', 'data', 'level1', 'asset.json');
      const good = fs.readFileSync(declaration, 'utf8');
      fs.writeFileSync(declaration, '{ "broken"');
      await page.locator('tr[data-asset-id="4"] span.status[data-status="invalid"]').waitFor({ timeout: STEP });
      const answered = page.waitForResponse((r) => r.url().endsWith('/api/build'), { timeout: STEP });
      await page.locator('#build').click();
      assert.equal((await answered).status(), 422);
      await page.locator('#build-result:text-is("build failed")').waitFor({ timeout: STEP });
      await page.locator('#notice:has-text("the build is refused")').waitFor({ timeout: STEP });
      await page.locator('#build-progress').waitFor({ state: 'hidden', timeout: STEP });
      fs.writeFileSync(declaration, good);
      await page.locator('tr[data-asset-id="4"] span.status[data-status="ok"]').waitFor({ timeout: STEP });
    });

    await t.test('requests without the token, or from a foreign Host or Origin, are refused', async () => {
      assert.equal((await request(api('/api/status'))).status, 403);
      assert.equal((await request(api('/'))).status, 403);
      assert.equal((await request(api('/?token=0123456789abcdef0123456789abcdef'))).status, 403);
      assert.equal((await request(api('/api/events'))).status, 403);
      const withToken = { 'X-Studio-Token': token };
      assert.equal((await request(api('/api/status'), { headers: withToken })).status, 200);
      assert.equal((await request(api('/api/status'), { headers: { ...withToken, Host: `evil.example:${url.port}` } })).status, 403);
      assert.equal((await request(api('/api/status'), { headers: { ...withToken, Origin: 'http://evil.example' } })).status, 403);
      const write = await request(api('/api/set_included'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: 'http://evil.example' },
        body: JSON.stringify({ asset: 2, included: true }),
      });
      assert.equal(write.status, 403);
      assert.equal(registry(project).assets.find((a) => a.asset_id === 2).included_in_build, false);
    });

    await t.test('a page left open across a restart is told why it is refused', async () => {
      studio.child.kill('SIGTERM');
      const { code } = await studio.exited;
      assert.equal(code, 0, 'prometeu-studio stops cleanly on SIGTERM');
      // The same port, a new token: the page's stream is refused and the browser gives
      // up on it; the page must say why instead of "reconnecting" for ever.
      studio = startStudio(project, '--port', url.port);
      await studio.url;
      await page.locator('#notice:has-text("a valid token is required")').waitFor({ timeout: STEP });
    });

    assert.deepEqual(pageErrors, [], 'no script error on the page');
  } finally {
    await browser.close();
    studio.child.kill('SIGTERM');
    const { code, signal } = await studio.exited;
    assert.equal(signal, null, `prometeu-studio died of ${signal}`);
    assert.equal(code, 0, 'prometeu-studio stops cleanly on SIGTERM');
    fs.rmSync(project, { recursive: true, force: true });
  }
});
