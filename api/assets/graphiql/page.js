// GraphiQL served from this server's own files (no CDN), with a field for the API token.
// Without a token it uses the console's session, if the browser is signed in: the session
// cookie goes along and every request carries the session's CSRF token.
(function () {
  'use strict';
  const tokenField = document.getElementById('token');
  const who = document.getElementById('who');
  tokenField.value = sessionStorage.getItem('serial-ledger.token') || '';
  let csrfToken = null;

  tokenField.addEventListener('change', () => {
    sessionStorage.setItem('serial-ledger.token', tokenField.value.trim());
    describe();
  });

  function describe() {
    if (tokenField.value.trim()) {
      who.textContent = 'using the token above';
    } else if (csrfToken) {
      who.textContent = 'using the console session';
    } else {
      who.textContent = 'not signed in: paste a token';
    }
  }

  fetch('/console/session', { credentials: 'same-origin' })
    .then((response) => (response.ok ? response.json() : null))
    .then((session) => {
      if (session) {
        csrfToken = session.csrfToken;
        who.dataset.role = session.role;
      }
      describe();
    })
    .catch(describe);

  async function fetcher(params, options) {
    const headers = Object.assign({ 'content-type': 'application/json' }, (options && options.headers) || {});
    const token = tokenField.value.trim();
    if (token) {
      headers.authorization = 'Bearer ' + token;
    } else if (csrfToken) {
      headers['x-csrf-token'] = csrfToken;
    }
    const response = await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify(params),
      credentials: token ? 'omit' : 'same-origin',
    });
    return response.json();
  }

  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }));
})();
