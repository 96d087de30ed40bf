// Sign-in: paste an API token, or open a sign-in link (`/sign-in#token=sl_...`, printed by
// `serve --demo`). The token is sent once, in a POST body, and never kept by the page: the
// server answers with a session cookie. The link keeps the token in the fragment, which
// browsers never send to the server or in a Referer.
import { signIn, describeError } from '../api.js';
import { h, field } from '../dom.js';

export const title = 'Sign in';

export async function render(root, { params }) {
  const next = safeNext(params.get('next'));
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true });
  const message = h('p', { role: 'alert', class: 'error', id: 'sign-in-error' });
  const form = h('form', { class: 'card narrow', onsubmit: (event) => { event.preventDefault(); go(token.value); } },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Paste an API token (', h('code', {}, 'serial-ledger token create'), ' makes one), or open a sign-in link.'),
    field('API token', token),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    message);
  root.append(form);

  async function go(value) {
    message.textContent = '';
    try {
      await signIn(value.trim());
      location.replace(next);
    } catch (error) {
      message.textContent = describeError(error);
      token.focus();
    }
  }

  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) {
    const value = fragment.get('token');
    history.replaceState(null, '', location.pathname + location.search);
    await go(value);
  } else {
    token.focus();
  }
}

/** Only a path on this server (never another site) is a place to go after signing in. */
function safeNext(next) {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/sign-in') ? next : '/';
}
