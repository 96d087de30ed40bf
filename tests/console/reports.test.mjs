// The fulfilment report and the sales report pages, on both backends: the pending-serial
// filter, serial entry in the grid, fulfilling selected lines, downloads, who bought a
// serial, an auditor's read-only view, and accessibility.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BACKENDS, serverAndBrowser, newPage, signIn, seriousViolations, screenshot, graphql } from './harness.mjs';

const PENDING = `query($filter: FulfilmentReportFilter) { fulfilmentReport(filter: $filter, first: 100) {
  nodes { sale { invoiceNumber } line { lineNumber } } } }`;
const SALE = `query($invoice: String!) { saleByInvoice(invoiceNumber: $invoice) {
  id lines { lineNumber serialNumber status } } }`;

async function sale(server, invoice) {
  return (await graphql(server, 'manager', SALE, { invoice })).saleByInvoice;
}

/** The (invoice, line) pairs the grid shows. */
async function gridLines(page) {
  return page.locator('#fulfilment-grid tbody tr').evaluateAll((rows) => rows.map((row) => `${row.dataset.invoice}#${row.dataset.line}`));
}

for (const backend of BACKENDS) {
  describe(`reports (${backend})`, () => {
    const env = serverAndBrowser(backend);

    it('the pending-serial filter shows only lines pending a serial; a serial typed in the grid is recorded and the line leaves the view; a bad serial shows the API message inline', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'warehouse');
      await page.goto('/fulfilment');
      await page.getByLabel('Show Items Pending Serial Number').check();
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForURL((url) => url.searchParams.get('pending') === '1');
      await page.locator('#fulfilment-grid caption', { hasText: 'Items pending serial number' }).waitFor();

      const expected = (await graphql(env.server, 'warehouse', PENDING, { filter: { pendingSerialOnly: true } }))
        .fulfilmentReport.nodes.map((node) => `${node.sale.invoiceNumber}#${node.line.lineNumber}`);
      assert.ok(expected.includes('INV-1001#2'), `the demo has INV-1001 line 2 pending: ${expected}`);
      assert.deepEqual(await gridLines(page), expected);
      const statuses = await page.locator('#fulfilment-grid tbody .serial-status').allTextContents();
      assert.ok(statuses.every((text) => text === 'Serial required, not yet entered'), statuses.join());

      // A reload keeps the filter.
      await page.reload();
      await page.locator('#fulfilment-grid').waitFor();
      assert.equal(await page.getByLabel('Show Items Pending Serial Number').isChecked(), true);
      assert.deepEqual(await gridLines(page), expected);

      // A serial with a space: the API's message and code, next to the field.
      const input = page.getByLabel('Serial for INV-1001 line 2', { exact: true });
      await input.fill('BAD SERIAL');
      await input.press('Enter');
      const message = page.locator('#fulfilment-grid tr[data-invoice="INV-1001"][data-line="2"] .serial-error');
      await message.filter({ hasText: 'INVALID_SERIAL' }).waitFor();
      assert.match(await message.textContent(), /must not contain spaces/);
      assert.equal(await input.getAttribute('aria-invalid'), 'true');

      // A serial already on another line: refused, naming that invoice.
      await input.fill('F2LREPLACE01');
      await page.getByRole('button', { name: 'Save serial for INV-1001 line 2' }).click();
      await message.filter({ hasText: 'SERIAL_ALREADY_ASSIGNED' }).waitFor();
      assert.match(await message.textContent(), /INV-1006/);

      // A good serial, with Enter (as a scanner sends it).
      const serial = `SN-GRID-${backend.toUpperCase()}-1`;
      await input.fill(serial);
      await input.press('Enter');
      await page.locator('#flash').filter({ hasText: `Serial ${serial} recorded on INV-1001 line 2` }).waitFor();
      assert.equal(await message.textContent(), '');
      const recorded = (await sale(env.server, 'INV-1001')).lines.find((line) => line.lineNumber === 2);
      assert.equal(recorded.serialNumber, serial);
      await screenshot(page, 'fulfilment');

      // After a refresh the line is no longer pending.
      await page.reload();
      await page.locator('#fulfilment-grid').waitFor();
      const after = await gridLines(page);
      assert.ok(!after.includes('INV-1001#2'), after.join());
      assert.deepEqual(after, expected.filter((key) => key !== 'INV-1001#2'));

      // Clearing the field removes the serial (the unfiltered view shows the line again).
      await page.getByLabel('Show Items Pending Serial Number').uncheck();
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForURL((url) => !url.searchParams.has('pending'));
      const again = page.getByLabel('Serial for INV-1001 line 2', { exact: true });
      assert.equal(await again.inputValue(), serial);
      await again.fill('');
      await again.press('Enter');
      await page.locator('#flash').filter({ hasText: 'Serial removed from INV-1001 line 2' }).waitFor();
      assert.equal((await sale(env.server, 'INV-1001')).lines.find((line) => line.lineNumber === 2).serialNumber, null);
      // Put it back for the tests that follow.
      await again.fill(serial);
      await again.press('Enter');
      await page.locator('#flash').filter({ hasText: `Serial ${serial} recorded` }).waitFor();
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('fulfils the selected lines per sale, and a refusal (a REQUIRED line without its serial) shows the reason', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'manager');
      await page.goto('/fulfilment');
      await page.locator('#fulfilment-grid').waitFor();
      // INV-1006 line 1 has its serial; INV-1003 line 3 (REQUIRED) has none.
      await page.getByLabel('Select INV-1006 line 1', { exact: true }).check();
      await page.getByLabel('Select INV-1003 line 3', { exact: true }).check();
      await page.getByRole('button', { name: 'Fulfil selected' }).click();
      const results = page.getByRole('list', { name: 'Fulfilment results' });
      await results.locator('li.ok', { hasText: 'INV-1006: fulfilled line 1.' }).waitFor();
      const refusal = results.locator('li.error', { hasText: 'INV-1003' });
      await refusal.waitFor();
      assert.match(await refusal.textContent(), /SERIAL_REQUIRED/);
      await page.locator('#flash').filter({ hasText: '1 of 2 sale(s) could not be fulfilled' }).waitFor();

      assert.equal((await sale(env.server, 'INV-1006')).lines.find((line) => line.lineNumber === 1).status, 'FULFILLED');
      assert.equal((await sale(env.server, 'INV-1003')).lines.find((line) => line.lineNumber === 3).status, 'OPEN');
      // The grid was refreshed: the fulfilled line has left the report, the refused one stays.
      await page.locator('#fulfilment-grid tr[data-invoice="INV-1006"]').waitFor({ state: 'detached' });
      assert.ok((await gridLines(page)).includes('INV-1003#3'));
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('downloads the fulfilment report CSV and the pick list with serials, with their headers and a known serial', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'warehouse');
      await page.goto('/fulfilment');
      await page.locator('#fulfilment-grid').waitFor();

      const [csv] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Fulfilment report CSV' }).click(),
      ]);
      assert.match(csv.suggestedFilename(), /^fulfilment-report-.*\.csv$/);
      const report = readFileSync(await csv.path(), 'utf8');
      assert.match(report.split(/\r?\n/)[0], /Invoice Number.*SKU.*Serial Number/);
      assert.match(report, /INV-1001,.*F2LXK1A2B3C4/);

      const [pickList] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Pick list with serials CSV' }).click(),
      ]);
      const picks = readFileSync(await pickList.path(), 'utf8');
      assert.match(picks.split(/\r?\n/)[0], /Serial/i);
      assert.match(picks, /F2LXK1A2B3C4/);

      const [invoicePicks] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Invoice pick list (without serials) CSV' }).click(),
      ]);
      assert.match(invoicePicks.suggestedFilename(), /^invoice-pick-list-/);
      assert.doesNotMatch(readFileSync(await invoicePicks.path(), 'utf8'), /F2LXK1A2B3C4/);

      // A chosen sale's invoice PDF.
      await page.getByLabel('Sale', { exact: true }).selectOption({ label: 'INV-1001 · Jo Citizen' });
      const [invoice] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Invoice PDF' }).click(),
      ]);
      assert.equal(invoice.suggestedFilename(), 'invoice-INV-1001.pdf');
      assert.equal(readFileSync(await invoice.path()).subarray(0, 5).toString(), '%PDF-');

      // A refused download shows the API's message and code instead of saving an error.
      await page.goto('/fulfilment?from=2026-12-10&to=2026-12-01');
      await page.locator('#report-error').filter({ hasText: 'VALIDATION' }).waitFor();
      let downloaded = false;
      page.once('download', () => { downloaded = true; });
      await page.getByRole('link', { name: 'Fulfilment report CSV' }).click();
      await page.locator('#flash').filter({ hasText: /CSV: to must not be before from \(VALIDATION\)/ }).waitFor();
      assert.equal(downloaded, false);
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('the sales report filters by serial (showing the serial and the customer), exports with the same filter, and answers who bought a serial in one search', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'manager');
      await page.goto('/sales');
      await page.locator('#sales-grid').waitFor();
      await page.getByLabel('Product Serial Number').fill('mon27-001');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForURL((url) => url.searchParams.get('serial') === 'mon27-001');
      await page.locator('#sales-grid caption', { hasText: '(1 on this page)' }).waitFor();
      const row = page.locator('#sales-grid tbody tr');
      assert.equal(await row.count(), 1);
      const text = await row.textContent();
      assert.match(text, /INV-1004/);
      assert.match(text, /Pat Buyer/);
      assert.equal(await row.locator('td.serial').textContent(), 'MON27-001');

      // The filter survives a reload, and the export uses it.
      await page.reload();
      await page.locator('#sales-grid').waitFor();
      assert.equal(await page.getByLabel('Product Serial Number').inputValue(), 'mon27-001');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Sales detail export CSV' }).click(),
      ]);
      const csv = readFileSync(await download.path(), 'utf8');
      const lines = csv.trim().split(/\r?\n/);
      assert.match(lines[0], /Serial Number/);
      assert.equal(lines.length, 2, csv);
      assert.match(lines[1], /MON27-001/);
      assert.match(lines[1], /Pat Buyer/);

      // SKU filter.
      await page.getByLabel('Product Serial Number').fill('');
      await page.getByLabel('SKU').fill('MON-27-4K');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForURL((url) => url.searchParams.get('sku') === 'MON-27-4K');
      await page.locator('#sales-grid').waitFor();
      const skus = await page.locator('#sales-grid tbody tr td:nth-child(8)').allTextContents();
      assert.ok(skus.length >= 2 && skus.every((sku) => sku === 'MON-27-4K'), skus.join());
      await screenshot(page, 'sales');

      // Who bought this serial: one search.
      await page.getByRole('searchbox', { name: 'Serial number' }).fill('MON27-002');
      await page.getByRole('button', { name: 'Find buyer' }).click();
      const answer = page.locator('#who-answer');
      await answer.getByText('Pat Buyer').first().waitFor();
      const said = await answer.textContent();
      assert.match(said, /INV-1004/);
      assert.match(said, /MON27-002/);
      assert.match(said, /Outlet/);
      assert.match(said, /\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
      // A malformed serial: the API's refusal.
      await page.getByRole('searchbox', { name: 'Serial number' }).fill('NO SUCH');
      await page.getByRole('button', { name: 'Find buyer' }).click();
      await answer.getByRole('alert').filter({ hasText: 'INVALID_SERIAL' }).waitFor();
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('pages through both reports with Next and Previous, the page kept in the address', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'auditor');
      for (const [path, query, grid] of [
        ['/sales', 'salesReport', '#sales-grid'],
        ['/fulfilment', 'fulfilmentReport', '#fulfilment-grid'],
      ]) {
        const all = (await graphql(env.server, 'auditor', `{ ${query}(first: 100) { nodes { sale { invoiceNumber } line { lineNumber } } } }`))[query]
          .nodes.map((node) => `${node.sale.invoiceNumber}#${node.line.lineNumber}`);
        assert.ok(all.length > 5, `the demo has more than 5 lines in ${query}: ${all.length}`);
        const shown = () => page.locator(`${grid} tbody tr`).evaluateAll((rows) => rows.map((row) => `${row.dataset.invoice}#${row.dataset.line}`));
        await page.goto(`${path}?size=5`);
        await page.locator(grid).waitFor();
        assert.deepEqual(await shown(), all.slice(0, 5));
        assert.equal(await page.getByRole('button', { name: 'Previous' }).isDisabled(), true);
        await page.getByRole('button', { name: 'Next' }).click();
        await page.waitForURL((url) => url.searchParams.has('after'));
        await page.locator('.pager', { hasText: 'Page 2' }).waitFor();
        assert.deepEqual(await shown(), all.slice(5, 10));
        await page.reload();
        await page.locator('.pager', { hasText: 'Page 2' }).waitFor();
        assert.deepEqual(await shown(), all.slice(5, 10));
        await page.getByRole('button', { name: 'Previous' }).click();
        await page.locator('.pager', { hasText: 'Page 1' }).waitFor();
        await page.waitForURL((url) => !url.searchParams.has('after'));
        assert.deepEqual(await shown(), all.slice(0, 5));
      }
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('an auditor sees both reports with no write controls', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'auditor');
      await page.goto('/fulfilment');
      await page.locator('#fulfilment-grid').waitFor();
      assert.equal(await page.locator('#fulfilment-grid input').count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Fulfil selected' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: /^Save serial/ }).count(), 0);
      assert.match(await page.locator('#fulfilment-grid').textContent(), /F2LXK1A2B3C4/);
      assert.ok(await page.getByRole('link', { name: 'Fulfilment report CSV' }).isVisible());
      await page.goto('/sales');
      await page.locator('#sales-grid').waitFor();
      assert.match(await page.locator('#sales-grid').textContent(), /MON27-001/);
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('both pages have no serious accessibility violation', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'warehouse');
      await page.goto('/fulfilment?pending=1');
      await page.locator('#fulfilment-grid').waitFor();
      // With an inline error showing, too.
      const input = page.locator('#fulfilment-grid .serial-input').first();
      await input.fill('HAS SPACE');
      await input.press('Enter');
      await page.locator('#fulfilment-grid .serial-error', { hasText: 'INVALID_SERIAL' }).waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await page.goto('/sales?serial=MON27-001');
      await page.locator('#sales-grid').waitFor();
      await page.getByRole('searchbox', { name: 'Serial number' }).fill('MON27-001');
      await page.getByRole('button', { name: 'Find buyer' }).click();
      await page.locator('#who-answer').getByText('Pat Buyer').first().waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      assert.deepEqual(page.problems, []);
      await context.close();
    });
  });
}
