// Sign-in, sign-out, sessions and CSRF, on both backends.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, serverAndBrowser, fetchFromSession, cli, newPage, signIn, seriousViolations, screenshot } from './harness.mjs';

for (const backend of BACKENDS) {
  describe(`sessions (${backend})`, () => {
    const env = serverAndBrowser(backend);

    it('a visitor who is not signed in is sent to the sign-in page, which has no serious accessibility violation', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await page.goto('/sales');
      await page.waitForURL('**/sign-in?next=%2Fsales');
      await page.getByLabel('API token').waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, 'sign-in');
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('signing in with a pasted token opens a session cookie that is HttpOnly and SameSite=Strict, and sign-out ends it', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'manager');
      await page.locator('#who-text').filter({ hasText: 'manager' }).waitFor();
      const [cookie] = (await context.cookies()).filter((c) => c.name === 'sl_session');
      assert.ok(cookie, 'a session cookie is set');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.equal(await page.evaluate(() => document.cookie.includes('sl_session')), false, 'scripts cannot read it');
      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, 'home');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL('**/sign-in');
      // The old cookie value no longer works even if replayed.
      const replay = await fetch(env.server.url + '/console/session', { headers: { cookie: `sl_session=${cookie.value}` } });
      assert.equal(replay.status, 401);
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('a sign-in link from serve --demo signs in without typing, and a wrong token is refused with the reason', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await page.goto(env.server.signInLinks.warehouse);
      await page.waitForURL((url) => url.pathname === '/');
      await page.getByText('warehouse', { exact: false }).first().waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL('**/sign-in');
      await page.getByLabel('API token').fill('sl_not_a_token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED' }).waitFor();
      await context.close();
    });

    it('a write made with the session cookie but without the CSRF token is refused, and the same write with it passes', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'manager');
      const mutation = 'mutation { updateSettings(autoPromptSerialNumber: true) { settings { autoPromptSerialNumber } } }';
      const without = await page.evaluate(async (query) => {
        const response = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
        return { status: response.status, body: await response.json() };
      }, mutation);
      assert.equal(without.status, 403);
      assert.equal(without.body.errors[0].extensions.code, 'CSRF_TOKEN_INVALID');
      const withToken = await fetchFromSession(page, mutation);
      assert.equal(withToken.status, 200, JSON.stringify(withToken.body));
      assert.equal(withToken.body.errors, undefined, JSON.stringify(withToken.body));
      await context.close();
    });

    it('revoking the token ends the session that was made with it', async () => {
      const token = cli(env.server, 'token', 'create', '--tenant', 'demo', '--role', 'auditor', '--label', 'revoked soon').trim();
      const { context, page } = await newPage(env.browser, env.server);
      await page.goto('/sign-in');
      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.pathname === '/');
      // An operator revokes it from another process.
      cli(env.server, 'token', 'revoke', token.split('_')[1]);
      await page.goto('/sales');
      await page.waitForURL('**/sign-in?next=%2Fsales');
      assert.equal((await page.request.get('/console/session')).status(), 401);
      await context.close();
    });

    it('GraphiQL loads with no internet and answers a query with a pasted token', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await page.goto('/graphql');
      await page.locator('.graphiql-container').waitFor({ timeout: 30_000 });
      await page.getByLabel('API token').fill(env.server.tokens.auditor);
      await page.getByLabel('API token').dispatchEvent('change');
      const answer = await page.evaluate(async (token) => {
        const response = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify({ query: '{ settings { autoPromptSerialNumber } }' }) });
        return response.json();
      }, env.server.tokens.auditor);
      assert.equal(typeof answer.data.settings.autoPromptSerialNumber, 'boolean');
      await screenshot(page, 'graphiql');
      assert.deepEqual(page.problems, []);
      await context.close();
    });
  });
}
