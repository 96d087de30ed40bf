// The console's only way to the server: the same GraphQL API and file routes integrators
// use, authenticated by the session cookie; every write carries the session's CSRF token.

let session = null;

/** An error as the API answered it: the message an integrator would get, and its code. */
export class ApiError extends Error {
  constructor(message, code, details) {
    super(message);
    this.code = code || 'ERROR';
    this.details = details || {};
  }
}

/** Who the browser is signed in as (null when not signed in). */
export async function loadSession() {
  const response = await fetch('/console/session', { credentials: 'same-origin' });
  session = response.ok ? await response.json() : null;
  return session;
}

export function currentSession() {
  return session;
}

/** Whether the signed-in role may do `permission` (read, sell, recordSerials, fulfil,
 * refund, createProducts, manageCatalogue, readLog, …). The server enforces it too. */
export function can(permission) {
  return Boolean(session && session.permissions.includes(permission));
}

function writeHeaders(extra = {}) {
  return Object.assign({ 'x-csrf-token': session ? session.csrfToken : '' }, extra);
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    return new ApiError(`${response.status} ${response.statusText}`, 'HTTP_' + response.status);
  }
  const error = body.error || (body.errors && body.errors[0]) || body;
  const code = error.code || (error.extensions && error.extensions.code);
  return new ApiError(error.message || JSON.stringify(body), code, error.details || error.extensions);
}

/** Runs a GraphQL document; resolves to `data`, or rejects with the first error. */
export async function gql(query, variables = {}) {
  const response = await fetch('/graphql', {
    method: 'POST',
    credentials: 'same-origin',
    headers: writeHeaders({ 'content-type': 'application/json' }),
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`${response.status} ${response.statusText}`, 'HTTP_' + response.status);
  }
  if (body.errors && body.errors.length) {
    const [first] = body.errors;
    const extensions = first.extensions || {};
    throw new ApiError(first.message, extensions.code, extensions);
  }
  return body.data;
}

/** Signs in with an API token; resolves to the session. */
export async function signIn(token) {
  const response = await fetch('/console/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (!response.ok) throw await errorOf(response);
  session = await response.json();
  return session;
}

export async function signOut() {
  const response = await fetch('/console/session', {
    method: 'DELETE',
    credentials: 'same-origin',
    headers: writeHeaders(),
  });
  if (!response.ok && response.status !== 401) throw await errorOf(response);
  session = null;
}

/** Uploads a file to a file route (`/imports/...`); resolves to the JSON answer. */
export async function upload(url, body, contentType) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: writeHeaders({ 'content-type': contentType }),
    body,
  });
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (answer && (answer.error || answer)) || {};
    throw new ApiError(error.message || `${response.status}`, error.code, error.details || answer);
  }
  return answer;
}

/** Shows a message in the flash area (kind: 'ok' or 'error'). */
export function flash(message, kind = 'ok') {
  const area = document.getElementById('flash');
  if (!area) return;
  area.replaceChildren();
  const box = document.createElement('p');
  box.className = 'flash flash-' + kind;
  box.textContent = message;
  area.append(box);
}

/** The message to show for an error thrown by the calls above. */
export function describeError(error) {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  return String(error && error.message ? error.message : error);
}
