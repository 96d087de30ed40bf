-- Read models (PostgreSQL). Each table belongs to one projection; projection_checkpoints holds
-- each projection's position, written in the same transaction as its rows.
-- Ids are UUID text, times are microseconds since the Unix epoch (UTC), enums their codes.
-- Serial columns use the "C" collation so prefix searches are byte-wise ranges on the index.

CREATE TABLE projection_checkpoints (
    projection        TEXT    PRIMARY KEY,
    commit_position   BIGINT NOT NULL,
    prepare_position  BIGINT NOT NULL,
    events_seen       BIGINT NOT NULL
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
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
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
    opened_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sale_id)
);
CREATE INDEX rm_sales_by_invoice ON rm_sales (tenant_id, invoice_number);
CREATE INDEX rm_sales_by_opened ON rm_sales (tenant_id, opened_at, sale_id);

CREATE TABLE rm_sale_lines (
    tenant_id            TEXT    NOT NULL,
    sale_id              TEXT    NOT NULL,
    line_number          BIGINT NOT NULL,
    product_id           TEXT    NOT NULL,
    sku                  TEXT    NOT NULL,
    product_name         TEXT    NOT NULL,
    quantity             BIGINT NOT NULL,
    unit_price_minor     BIGINT NOT NULL,
    currency             TEXT    NOT NULL,
    serial_mode          TEXT    NOT NULL,
    serial               TEXT COLLATE "C",
    status               TEXT    NOT NULL,
    package_role         TEXT,
    package_mode         TEXT,
    parent_line          BIGINT,
    reissue_of_sale_id   TEXT,
    reissue_of_invoice   TEXT,
    reissue_of_line      BIGINT,
    added_at             BIGINT NOT NULL,
    fulfilled_at         BIGINT,
    returned_at          BIGINT,
    cancelled_at         BIGINT,
    refund_minor         BIGINT,
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
    serial          TEXT COLLATE "C" NOT NULL,
    sku             TEXT    NOT NULL,
    product_name    TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    sale_id         TEXT    NOT NULL,
    invoice_number  TEXT    NOT NULL,
    line_number     BIGINT NOT NULL,
    outlet_id       TEXT    NOT NULL,
    customer_id     TEXT,
    customer_name   TEXT,
    allocated_at    BIGINT NOT NULL,
    fulfilled_at    BIGINT,
    returned_at     BIGINT,
    PRIMARY KEY (tenant_id, product_id, serial)
);
CREATE INDEX rm_serials_by_serial ON rm_serials (tenant_id, serial);

CREATE TABLE rm_serial_history (
    tenant_id         TEXT    NOT NULL,
    product_id        TEXT    NOT NULL,
    serial            TEXT    NOT NULL,
    commit_position   BIGINT NOT NULL,
    global_position   BIGINT NOT NULL,
    event_type        TEXT    NOT NULL,
    sale_id           TEXT    NOT NULL,
    invoice_number    TEXT    NOT NULL,
    line_number       BIGINT NOT NULL,
    recorded_at       BIGINT NOT NULL,
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
    line_number   BIGINT NOT NULL,
    product_id    TEXT    NOT NULL,
    sku           TEXT    NOT NULL,
    product_name  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, sale_id, line_number)
);
