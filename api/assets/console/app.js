// The console's entry point: loads the session, shows the navigation the role may use,
// and renders the page for the address (each page is a module under pages/).
import { loadSession, currentSession, signOut, flash, describeError } from './api.js';
import { replace, h } from './dom.js';

const PAGES = {
  '/': () => import('./pages/home.js'),
  '/sign-in': () => import('./pages/sign-in.js'),
  '/pos': () => import('./pages/pos.js'),
  '/fulfilment': () => import('./pages/fulfilment.js'),
  '/sales': () => import('./pages/sales.js'),
  '/serials': () => import('./pages/serials.js'),
  '/products': () => import('./pages/products.js'),
  '/settings': () => import('./pages/settings.js'),
};

async function start() {
  const view = document.getElementById('view');
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const session = await loadSession().catch(() => null);
  if (!session && path !== '/sign-in') {
    location.replace('/sign-in?next=' + encodeURIComponent(location.pathname + location.search));
    return;
  }
  if (session) showChrome(session, path);
  const load = PAGES[path] || PAGES['/'];
  try {
    const page = await load();
    document.title = `${page.title} · serial-ledger`;
    replace(view);
    await page.render(view, { session: currentSession(), params: new URLSearchParams(location.search) });
  } catch (error) {
    replace(view, h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, describeError(error)));
  }
}

function showChrome(session, path) {
  const nav = document.getElementById('nav');
  for (const link of nav.querySelectorAll('a')) {
    const needs = link.dataset.needs;
    if (needs && !session.permissions.includes(needs)) link.remove();
    else if (link.getAttribute('href') === path) link.setAttribute('aria-current', 'page');
  }
  nav.hidden = false;
  const who = document.getElementById('who');
  document.getElementById('who-text').textContent = `${session.label} · ${session.role} · ${session.tenant.name}`;
  who.hidden = false;
  document.body.dataset.role = session.role;
  document.getElementById('sign-out').addEventListener('click', async () => {
    try {
      await signOut();
      location.assign('/sign-in');
    } catch (error) {
      flash(describeError(error), 'error');
    }
  });
}

start();
