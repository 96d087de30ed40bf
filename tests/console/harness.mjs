// The browser tests' harness: the real server (`serial-ledger serve --demo`) on SQLite or
// on a fresh PostgreSQL database, and Debian's Chromium driven by playwright-core. Nothing
// is faked and nothing is skipped: a missing binary, browser or database fails the run.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

/** The server binary: SERIAL_LEDGER_BIN, else the one `cargo test` / `cargo build` made. */
export const BINARY = process.env.SERIAL_LEDGER_BIN
  ? resolve(root, process.env.SERIAL_LEDGER_BIN)
  : join(root, 'target', 'debug', 'serial-ledger');

/** Debian's Chromium (`apt-get install chromium`); nothing downloads a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const POSTGRES = process.env.SERIAL_LEDGER_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** The backends every flow runs on. */
export const BACKENDS = (process.env.CONSOLE_BACKENDS || 'sqlite,postgres').split(',');

/**
 * Starts `serve --demo` on `backend` ('sqlite' or 'postgres', a fresh database each) and
 * resolves to { url, tokens: {manager, pos, warehouse, auditor, integrator}, signInLinks,
 * outlets: {name: id}, stop() }.
 */
export async function startServer(backend) {
  if (!existsSync(BINARY)) {
    throw new Error(`no server binary at ${BINARY}: run cargo build --bin serial-ledger (or set SERIAL_LEDGER_BIN)`);
  }
  const directory = mkdtempSync(join(tmpdir(), 'serial-ledger-console-'));
  let databaseUrl;
  let dropDatabase = () => {};
  if (backend === 'sqlite') {
    databaseUrl = `sqlite://${join(directory, 'ledger.db')}`;
  } else if (backend === 'postgres') {
    const name = `console_${process.pid}_${Date.now()}`;
    const admin = new URL(POSTGRES);
    const psql = (sql) => execFileSync('psql', [admin.href, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { stdio: 'pipe' });
    try {
      psql(`CREATE DATABASE ${name}`);
    } catch (error) {
      throw new Error(`cannot create a PostgreSQL database at ${admin.host} (start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start): ${error.stderr || error}`);
    }
    const url = new URL(POSTGRES);
    url.pathname = '/' + name;
    databaseUrl = url.href;
    dropDatabase = () => {
      try { psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } catch { /* best effort */ }
    };
  } else {
    throw new Error(`unknown backend ${backend}`);
  }
  const child = spawn(BINARY, ['serve', '--demo', '--listen', '127.0.0.1:0', '--database-url', databaseUrl], {
    cwd: directory,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const tokens = {};
  const signInLinks = {};
  const outlets = {};
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 120 s: ${stderr}`)), 120_000);
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${stderr}`)));
    lines.on('line', (line) => {
      let match;
      if ((match = line.match(/^\s+(\w+)\s+token: (sl_\S+)/))) tokens[match[1]] = match[2];
      if ((match = line.match(/^\s+(\w+)\s+(http:\/\/\S+\/sign-in#token=\S+)/))) signInLinks[match[1]] = match[2];
      if ((match = line.match(/^\s+outlet (.+): ([0-9a-f-]{36})$/))) outlets[match[1]] = match[2];
      if ((match = line.match(/listening on (http:\/\/[^/]+)\//))) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
  });
  return {
    backend,
    url,
    databaseUrl,
    tokens,
    signInLinks,
    outlets,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((done) => (child.exitCode !== null ? done() : child.once('exit', done)));
      dropDatabase();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Runs the server's CLI against the server's database (`token create`, `token revoke`, …);
 * resolves to its standard output. */
export function cli(server, ...args) {
  return execFileSync(BINARY, [...args, '--database-url', server.databaseUrl], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Launches Chromium headless with the flags this machine needs and a fresh profile. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
}

/**
 * A new browser context (its own cookies) with a page, failing the test on any page error
 * or request that leaves the server (nothing is fetched from the internet).
 */
export async function newPage(browser, server) {
  const context = await browser.newContext({ baseURL: server.url, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) problems.push(`console error: ${message.text()}`);
  });
  await context.route('**/*', (route) => {
    const target = new URL(route.request().url());
    if (target.origin !== server.url) {
      problems.push(`request to another server: ${target.href}`);
      return route.abort();
    }
    return route.continue();
  });
  page.problems = problems;
  return { context, page };
}

/** Signs `page` in as `role` with its token pasted into the sign-in form. */
export async function signIn(page, server, role) {
  await page.goto('/sign-in');
  await page.getByLabel('API token').fill(server.tokens[role]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname !== '/sign-in');
}

/** The axe-core accessibility check of the page: its serious and critical violations. */
export async function seriousViolations(page) {
  // Evaluated through the DevTools protocol, which the page's CSP (scripts from this
  // server only) rightly does not allow a <script> tag to do.
  await page.evaluate(readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8'));
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((violation) => ['serious', 'critical'].includes(violation.impact))
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.map((node) => node.target.join(' ')).slice(0, 3).join('; ')}`);
}

/** Runs a GraphQL document with a bearer token (set-up and checks outside the browser). */
export async function graphql(server, role, query, variables = {}) {
  const response = await fetch(server.url + '/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.tokens[role]}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`GraphQL refused: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Saves a screenshot of the page under docs/screenshots/ (when UPDATE_SCREENSHOTS=1). */
export async function screenshot(page, name) {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  await page.screenshot({ path: join(root, 'docs', 'screenshots', `${name}.png`), fullPage: true });
}

/**
 * A suite's server on `backend` and its browser, started before its tests (then `setUp`,
 * given the server) and stopped after them. Resolves the returned object's `server` and
 * `browser` once started.
 */
export function serverAndBrowser(backend, setUp) {
  const env = {};
  before(async () => {
    env.server = await startServer(backend);
    env.browser = await launchBrowser();
    if (setUp) env.state = await setUp(env.server);
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

/**
 * A GraphQL request made from inside the page with its session cookie and CSRF token: what a
 * forged write from a signed-in console looks like. Resolves to the response's JSON and
 * status.
 */
export async function fetchFromSession(page, query, variables = {}) {
  return page.evaluate(async ([document, values]) => {
    const session = await (await fetch('/console/session')).json();
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
      body: JSON.stringify({ query: document, variables: values }),
    });
    return { status: response.status, body: await response.json() };
  }, [query, variables]);
}
