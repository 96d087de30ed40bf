// Settings: the retailer's three serial-number settings, under their names in the retail
// system. Managers change them; everyone else sees them read-only.
import { gql, can, flash, describeError } from '../api.js';
import { h, replace } from '../dom.js';

export const title = 'Settings';

const FIELDS = 'autoPromptSerialNumber displaySerialNumberOnInvoice aggregateDuplicateOrderItems';
const READ = `query { settings { ${FIELDS} } }`;
const UPDATE = `mutation Update($autoPromptSerialNumber: Boolean, $displaySerialNumberOnInvoice: Boolean, $aggregateDuplicateOrderItems: Boolean) {
  updateSettings(autoPromptSerialNumber: $autoPromptSerialNumber, displaySerialNumberOnInvoice: $displaySerialNumberOnInvoice,
    aggregateDuplicateOrderItems: $aggregateDuplicateOrderItems) { settings { ${FIELDS} } }
}`;

const SETTINGS = [
  {
    key: 'autoPromptSerialNumber',
    label: 'Auto-Prompt for Serial Number for Applicable Products',
    where: 'POS Settings › Product Settings',
    hint: 'Pop up the serial number prompt when a product whose serial number setting is Required is added at POS (not for Optional or Disabled products).',
  },
  {
    key: 'displaySerialNumberOnInvoice',
    label: 'Display Serial Number on Invoice',
    where: 'POS Settings › Invoice and Receipt Settings',
    hint: 'Show each line’s serial number on the customer invoice (PDF).',
  },
  {
    key: 'aggregateDuplicateOrderItems',
    label: 'POS Aggregate Duplicate Order Items',
    where: 'POS Settings',
    hint: 'Adding a product already on the sale increases that line’s quantity. Applies only to products with serial numbers Disabled: serial-tracked products always get one line per unit.',
  },
];

export async function render(root) {
  const manager = can('manageCatalogue');
  const message = h('p', { class: 'error', role: 'alert' });
  root.append(h('h1', {}, 'Settings'));
  let current;
  try {
    current = (await gql(READ)).settings;
  } catch (error) {
    root.append(h('p', { class: 'error', role: 'alert' }, describeError(error)));
    return;
  }

  const boxes = {};
  const rows = SETTINGS.map((setting) => {
    const id = 'setting-' + setting.key;
    const box = h('input', {
      type: 'checkbox', id, name: setting.key, checked: current[setting.key], disabled: !manager,
      'aria-describedby': id + '-hint',
    });
    boxes[setting.key] = box;
    return h('div', { class: 'setting' },
      h('div', { class: 'checkbox' }, box, h('label', { for: id }, setting.label),
        manager ? null : h('span', { class: 'badge setting-state' }, current[setting.key] ? 'On' : 'Off')),
      h('small', { class: 'hint', id: id + '-hint' }, `${setting.where}. ${setting.hint}`));
  });

  const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const form = h('form', { class: 'card narrow settings-form', onsubmit: submit },
    h('fieldset', {},
      h('legend', {}, 'Serial number settings'),
      rows),
    manager
      ? h('div', { class: 'actions' }, save)
      : h('p', { class: 'muted' }, 'Read-only: only managers can change these settings.'),
    message);
  root.append(form);

  async function submit(event) {
    event.preventDefault();
    if (!manager) return;
    replace(message);
    const changes = {};
    for (const setting of SETTINGS) {
      if (boxes[setting.key].checked !== current[setting.key]) changes[setting.key] = boxes[setting.key].checked;
    }
    if (!Object.keys(changes).length) {
      flash('Nothing to save: the settings are as they were.');
      return;
    }
    save.disabled = true;
    try {
      current = (await gql(UPDATE, changes)).updateSettings.settings;
      for (const setting of SETTINGS) boxes[setting.key].checked = current[setting.key];
      flash('Settings saved.');
    } catch (error) {
      message.textContent = describeError(error);
    } finally {
      save.disabled = false;
    }
  }
}
