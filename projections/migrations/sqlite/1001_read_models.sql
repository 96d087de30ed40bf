-- Read models (SQLite). Each table belongs to one projection; projection_checkpoints holds
-- each projection's position, written in the same transaction as its rows.
-- Ids are UUID text, times are microseconds since the Unix epoch (UTC), enums their codes.

CREATE TABLE projection_checkpoints (
    projection        TEXT    PRIMARY KEY,
    commit_position   INTEGER NOT NULL,
    prepare_position  INTEGER NOT NULL,
    events_seen       INTEGER NOT NULL
);

-- projection "products"
CREATE TABLE rm_products (
    tenant_id           TEXT    NOT NULL,
    product_id          TEXT    NOT NULL,
    sku                 TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    serial_mode         TEXT    NOT NULL,
    serial_mode_source  TEXT    NOT NULL,
    package_mode        TEXT,
    components          TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, product_id)
);
CREATE INDEX rm_products_by_sku ON rm_products (tenant_id, sku);

-- projection "sales"
CREATE TABLE rm_sales (
    tenant_id       TEXT    NOT NULL,
    sale_id         TEXT    NOT NULL,
    invoice_number  TEXT    NOT NULL,
    sale_type       TEXT    NOT NULL,
    delivery_mode   TEXT    NOT NULL,
    outlet_id       TEXT    NOT NULL,
    customer_id     TEXT,
    customer_name   TEXT,
    opened_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, sale_id)
);
CREATE INDEX rm_sales_by_invoice ON rm_sales (tenant_id, invoice_number);
CREATE INDEX rm_sales_by_opened ON rm_sales (tenant_id, opened_at, sale_id);

CREATE TABLE rm_sale_lines (
    tenant_id            TEXT    NOT NULL,
    sale_id              TEXT    NOT NULL,
    line_number          INTEGER NOT NULL,
    product_id           TEXT    NOT NULL,
    sku                  TEXT    NOT NULL,
    product_name         TEXT    NOT NULL,
    quantity             INTEGER NOT NULL,
    unit_price_minor     INTEGER NOT NULL,
    currency             TEXT    NOT NULL,
    serial_mode          TEXT    NOT NULL,
    serial               TEXT,
    status               TEXT    NOT NULL,
    package_role         TEXT,
    package_mode         TEXT,
    parent_line          INTEGER,
    reissue_of_sale_id   TEXT,
    reissue_of_invoice   TEXT,
    reissue_of_line      INTEGER,
    added_at             INTEGER NOT NULL,
    fulfilled_at         INTEGER,
    returned_at          INTEGER,
    cancelled_at         INTEGER,
    refund_minor         INTEGER,
    PRIMARY KEY (tenant_id, sale_id, line_number)
);
CREATE INDEX rm_sale_lines_by_status ON rm_sale_lines (tenant_id, status);
CREATE INDEX rm_sale_lines_by_serial ON rm_sale_lines (tenant_id, serial);
CREATE INDEX rm_sale_lines_by_product ON rm_sale_lines (tenant_id, product_id);
CREATE INDEX rm_sale_lines_by_sku ON rm_sale_lines (tenant_id, sku);

-- projection "serials": the traceability index
CREATE TABLE rm_serials (
    tenant_id       TEXT    NOT NULL,
    product_id      TEXT    NOT NULL,
    serial          TEXT    NOT NULL,
    sku             TEXT    NOT NULL,
    product_name    TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    sale_id         TEXT    NOT NULL,
    invoice_number  TEXT    NOT NULL,
    line_number     INTEGER NOT NULL,
    outlet_id       TEXT    NOT NULL,
    customer_id     TEXT,
    customer_name   TEXT,
    allocated_at    INTEGER NOT NULL,
    fulfilled_at    INTEGER,
    returned_at     INTEGER,
    PRIMARY KEY (tenant_id, product_id, serial)
);
CREATE INDEX rm_serials_by_serial ON rm_serials (tenant_id, serial);

CREATE TABLE rm_serial_history (
    tenant_id         TEXT    NOT NULL,
    product_id        TEXT    NOT NULL,
    serial            TEXT    NOT NULL,
    commit_position   INTEGER NOT NULL,
    global_position   INTEGER NOT NULL,
    event_type        TEXT    NOT NULL,
    sale_id           TEXT    NOT NULL,
    invoice_number    TEXT    NOT NULL,
    line_number       INTEGER NOT NULL,
    recorded_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, product_id, serial, commit_position, global_position)
);

-- the serials projection's own memory of sale headers and lines, so it depends on no other
-- projection (each can be rebuilt alone)
CREATE TABLE rm_trace_sales (
    tenant_id       TEXT NOT NULL,
    sale_id         TEXT NOT NULL,
    invoice_number  TEXT NOT NULL,
    outlet_id       TEXT NOT NULL,
    customer_id     TEXT,
    customer_name   TEXT,
    PRIMARY KEY (tenant_id, sale_id)
);

CREATE TABLE rm_trace_lines (
    tenant_id     TEXT    NOT NULL,
    sale_id       TEXT    NOT NULL,
    line_number   INTEGER NOT NULL,
    product_id    TEXT    NOT NULL,
    sku           TEXT    NOT NULL,
    product_name  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, sale_id, line_number)
);
