-- The shared ledger of several signetd nodes: what they must agree on. Private keys and the key
-- store's data key never come here; each node keeps its own SQLite key store.

-- The CA this database serves: the first node to migrate it records its CA key; every node, and
-- the signet CLI, refuses a database that records another.
CREATE TABLE signet_ledger (
  singleton integer PRIMARY KEY CHECK (singleton = 1),
  ca_key_sha256 text NOT NULL CHECK (ca_key_sha256 ~ '^[0-9a-f]{64}$'),
  ca_subject text NOT NULL,
  created_at bigint NOT NULL,
  created_by text NOT NULL
);

-- As the SQLite ledger's table (migrations 004 and 005 of the key store). Serials are uppercase
-- hex and ordered as bytes (COLLATE "C"), as SQLite orders them, so that paging cursors agree.
CREATE TABLE issued_certificates (
  serial text COLLATE "C" PRIMARY KEY CHECK (serial ~ '^[0-9A-F]+$'),
  state text NOT NULL CHECK (state IN ('intent', 'issued')),
  profile text NOT NULL,
  client text NOT NULL,
  client_id text,
  subject text NOT NULL,
  names text NOT NULL,
  requested_at bigint NOT NULL,
  not_before bigint NOT NULL,
  not_after bigint NOT NULL,
  der bytea,
  revoked_at bigint,
  revocation_reason integer,
  revoked_by text,
  revision bigint UNIQUE,
  CHECK ((state = 'issued') = (der IS NOT NULL)),
  CHECK (revoked_at IS NULL OR state = 'issued'),
  CHECK ((revoked_at IS NULL) = (revision IS NULL)),
  CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL)),
  CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX issued_certificates_by_client ON issued_certificates (client_id, serial);
CREATE INDEX issued_certificates_revoked ON issued_certificates (serial) WHERE revoked_at IS NOT NULL;

-- Revocation revisions are drawn from this row, locked by the revoking transaction until it
-- commits: revisions become visible in the order they were drawn, so a reader that has seen
-- revision N never later finds a revision below N appear (a sequence would not promise that).
CREATE TABLE revocation_state (
  singleton integer PRIMARY KEY CHECK (singleton = 1),
  revision bigint NOT NULL CHECK (revision >= 0)
);
INSERT INTO revocation_state (singleton, revision) VALUES (1, 0);

-- CRL numbers: strictly increasing across nodes (RFC 5280 5.2.3); gaps are allowed.
CREATE SEQUENCE crl_number AS bigint MINVALUE 1 START 1;

-- API clients. A removed client keeps its row (a tombstone): its id is never drawn again.
CREATE TABLE api_clients (
  id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
  name text NOT NULL,
  secret_sha256 bytea,
  profiles text NOT NULL,
  admin boolean NOT NULL,
  created_at bigint NOT NULL,
  removed_at bigint,
  removed_by text,
  CHECK ((removed_at IS NULL) = (secret_sha256 IS NOT NULL))
);
-- One live client per name, ignoring (ASCII) case.
CREATE UNIQUE INDEX api_clients_live_name ON api_clients (lower(name)) WHERE removed_at IS NULL;

-- The audit trail of issuance and clients (key store events stay in each node's store).
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at bigint NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  subject text NOT NULL,
  detail text NOT NULL
);
