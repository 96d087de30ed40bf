// The start page: where each kind of user goes.
import { can } from '../api.js';
import { h } from '../dom.js';

export const title = 'Home';

export async function render(root, { session }) {
  const tiles = [
    can('sell') && ['/pos', 'POS order', 'Open a sale, add items, record serials, fulfil, refund and re-issue.'],
    ['/fulfilment', 'Fulfilment report', 'Open lines, items pending a serial number, serial entry, pick lists.'],
    ['/sales', 'Sales report', 'Who bought a serial and when; sold lines with their serials; exports.'],
    ['/serials', 'Serial lookup', 'Every unit with a serial: its full history, its holder, its state at any time, evidence.'],
    ['/products', 'Products', 'Serial mode per product, bulk edit, CSV upload and download.'],
    ['/settings', 'Settings', 'Auto-prompt, serials on invoices, aggregating duplicate items.'],
  ].filter(Boolean);
  root.append(
    h('h1', {}, `Welcome, ${session.label}`),
    h('p', {}, `Signed in to ${session.tenant.name} as ${session.role}.`),
    h('ul', { class: 'tiles' }, tiles.map(([href, name, text]) =>
      h('li', {}, h('a', { href }, h('strong', {}, name)), h('p', {}, text)))));
}
