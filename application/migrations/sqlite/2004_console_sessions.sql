-- Sessions of the web console: a browser signs in with an API token and gets a cookie.
-- Only the SHA-256 of the session id is stored, and the session points at its token by the
-- token's hash: revoking the token ends every session made with it.

CREATE TABLE console_sessions (
    session_hash TEXT    PRIMARY KEY,
    token_hash   TEXT    NOT NULL,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE INDEX console_sessions_by_token ON console_sessions (token_hash);
