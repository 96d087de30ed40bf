-- The verifiable ledger (docs/auditing.md, ADR 5).
--
-- projection "proofs": per retailer, an RFC 9162 Merkle tree over every event in log order
-- (its complete subtree hashes by tlog stored-hash index), each serial's history chain, and
-- the sparse Merkle map from each serial to its chain (current nodes, and every version a
-- batch wrote, so a map proof can be made at any checkpoint). Hashes are lower-case hex.
-- The tables are WITHOUT ROWID: each is looked up by its primary key, and a clustered key
-- makes a proof's reads one B-tree descent per hash (not the key's index, then the row).
CREATE TABLE proof_logs (
    tenant_id   TEXT    PRIMARY KEY,
    tree_size   INTEGER NOT NULL,
    root        TEXT    NOT NULL,
    map_root    TEXT    NOT NULL
);
CREATE TABLE proof_leaves (
    tenant_id   TEXT    NOT NULL,
    leaf_index  INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    event_hash  TEXT    NOT NULL,
    serial_key  TEXT,
    PRIMARY KEY (tenant_id, leaf_index)
) WITHOUT ROWID;
CREATE UNIQUE INDEX proof_leaves_by_event ON proof_leaves (event_id);
CREATE INDEX proof_leaves_by_serial ON proof_leaves (tenant_id, serial_key, leaf_index);
CREATE TABLE proof_tree_hashes (
    tenant_id   TEXT    NOT NULL,
    hash_index  INTEGER NOT NULL,
    hash        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, hash_index)
) WITHOUT ROWID;
CREATE TABLE proof_serials (
    tenant_id   TEXT    NOT NULL,
    serial_key  TEXT    NOT NULL,
    serial      TEXT    NOT NULL,
    events      INTEGER NOT NULL,
    chain_head  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, serial_key)
) WITHOUT ROWID;
-- A node is a leaf (leaf_key set, hash = its value) or internal (leaf_key NULL).
CREATE TABLE proof_map_nodes (
    tenant_id   TEXT    NOT NULL,
    node_id     TEXT    NOT NULL,
    leaf_key    TEXT,
    hash        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, node_id)
) WITHOUT ROWID;
CREATE TABLE proof_map_history (
    tenant_id   TEXT    NOT NULL,
    node_id     TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    leaf_key    TEXT,
    hash        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, node_id, version)
) WITHOUT ROWID;

-- Not a projection: checkpoints are issued (and signed) once and never rebuilt; replay
-- verify recomputes the tree from the log and compares it with every one of them.
CREATE TABLE ledger_checkpoints (
    tenant_id     TEXT    NOT NULL,
    tree_size     INTEGER NOT NULL,
    root          TEXT    NOT NULL,
    map_root      TEXT    NOT NULL,
    issued_at     INTEGER NOT NULL,
    key_name      TEXT,
    verifier_key  TEXT,
    note          TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, tree_size)
);
CREATE TABLE ledger_cosignatures (
    tenant_id     TEXT    NOT NULL,
    tree_size     INTEGER NOT NULL,
    witness       TEXT    NOT NULL,
    signed_at     INTEGER NOT NULL,
    line          TEXT    NOT NULL,
    recorded_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, tree_size, witness)
);
