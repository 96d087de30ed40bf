// What the two reports (fulfilment and sales) share: their filters and page kept in the
// address, day fields as times, and download links that show a refusal instead of saving it.
import { ApiError, describeError } from './api.js';
import { h } from './dom.js';

/** The page sizes a report offers (5 keeps paging visible on small data). */
export const PAGE_SIZES = ['5', '10', '25', '50', '100'];

/**
 * The report's state as the address holds it: each of `names` as text, each of `flags` as a
 * boolean (`=1`), the page size, and the cursor of this page with those of the pages before
 * it (for "Previous"; the first page's is '').
 */
export function readFilters(params, names, flags = []) {
  const state = {};
  for (const name of names) state[name] = params.get(name) || '';
  for (const flag of flags) state[flag] = params.get(flag) === '1';
  state.size = PAGE_SIZES.includes(params.get('size')) ? params.get('size') : '25';
  state.after = params.get('after') || '';
  state.trail = state.after && params.has('trail') ? params.get('trail').split(',') : [];
  return state;
}

/** Writes the state back into the address (without a new history entry). */
export function writeFilters(state, names, flags = []) {
  const params = new URLSearchParams();
  for (const flag of flags) if (state[flag]) params.set(flag, '1');
  for (const name of names) if (state[name]) params.set(name, state[name]);
  if (state.size !== '25') params.set('size', state.size);
  if (state.after) {
    params.set('after', state.after);
    params.set('trail', state.trail.join(','));
  }
  const query = params.toString();
  history.replaceState(null, '', location.pathname + (query ? '?' + query : ''));
}

/** A date field's value (local day) as the start of that day, RFC 3339. */
export function dayStart(day, plusDays = 0) {
  if (!day) return null;
  const at = new Date(`${day}T00:00:00`);
  if (Number.isNaN(at.getTime())) return null;
  at.setDate(at.getDate() + plusDays);
  return at.toISOString();
}

/**
 * A download link. It works as a plain link; with scripts it fetches the file first so a
 * refusal shows the API's message and code instead of saving an error as a file.
 */
export function downloadLink(label, href, onError) {
  const link = h('a', { href, download: '', class: 'download' }, label);
  link.addEventListener('click', async (event) => {
    event.preventDefault();
    try {
      const response = await fetch(link.href, { credentials: 'same-origin' });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        const error = body.error || body;
        throw new ApiError(error.message || `${response.status} ${response.statusText}`, error.code || 'HTTP_' + response.status);
      }
      const disposition = response.headers.get('content-disposition') || '';
      const match = disposition.match(/filename="([^"]+)"/);
      const name = match ? match[1] : link.pathname.split('/').pop();
      const url = URL.createObjectURL(await response.blob());
      const save = h('a', { href: url, download: name, hidden: true });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      onError(`${label}: ${describeError(error)}`);
    }
  });
  return link;
}

