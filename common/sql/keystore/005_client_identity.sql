-- Signet key store, schema version 5: an API client's identity is never reused.
-- Written by signet::issuance::Ledger.
--
-- Until now a client was its name: removing "carol" and adding "carol" again (how an operator
-- rotates a leaked credential) gave the new carol the old one's certificates and made the old
-- one's client certificates work again. From now on a client is its id, 16 random hex digits
-- drawn when it is added (the id its token carries). Removing a client keeps its row as a
-- tombstone, so that its id is never drawn again, and clears its token hash; certificates record
-- the id of the client they were issued to.

-- api_clients, keyed by id instead of name (SQLite cannot change a primary key in place).
CREATE TABLE api_clients_v5 (
  id            TEXT    PRIMARY KEY CHECK (length(id) = 16), -- 16 lowercase hex: the client's
                                          -- identity, never reused; also finds the row for a token
  name          TEXT    NOT NULL,         -- 1..64 characters of [A-Za-z0-9._-]; unique among the
                                          -- clients not removed (index below)
  secret_sha256 BLOB    CHECK (length(secret_sha256) = 32), -- SHA-256 of the token's secret part
                                          -- (its text, as the token carries it); NULL once removed
  profiles      TEXT    NOT NULL,         -- JSON array of profile names it may use ("*" = all)
  admin         INTEGER NOT NULL CHECK (admin IN (0, 1)), -- 1: may revoke and manage clients
  created_at    INTEGER NOT NULL,         -- unix seconds, UTC
  removed_at    INTEGER,                  -- unix seconds, UTC; NULL while the client may act
  removed_by    TEXT,                     -- who removed it (audit_log has the details)
  CHECK ((removed_at IS NULL) = (removed_by IS NULL)),
  CHECK ((removed_at IS NULL) = (secret_sha256 IS NOT NULL))  -- a removed client has no token
) STRICT;
INSERT INTO api_clients_v5 (id, name, secret_sha256, profiles, admin, created_at)
  SELECT id, name, secret_sha256, profiles, admin, created_at FROM api_clients;
DROP TABLE api_clients;
ALTER TABLE api_clients_v5 RENAME TO api_clients;
-- One live client per name; tombstones may share it.
CREATE UNIQUE INDEX api_clients_live_name ON api_clients (name) WHERE removed_at IS NULL;

-- The identity of the API client a certificate was issued to; NULL for the operator's (`signet
-- issue`) and for certificates of clients removed before this version, whose ids are lost. No
-- foreign key: a restore copies the tables one by one, and a certificate's owner stays named here
-- even where the client's row did not travel.
ALTER TABLE issued_certificates ADD COLUMN client_id TEXT;
-- Existing certificates go to the client of that name, unless it was added after the certificate
-- was requested: then the certificate belonged to an earlier client of the same name, removed
-- since, and belongs to no live client now.
UPDATE issued_certificates SET client_id = (
  SELECT c.id FROM api_clients c
  WHERE c.name = issued_certificates.client AND c.created_at <= issued_certificates.requested_at);
-- One client's certificates, in serial order (listing pages, removal).
CREATE INDEX issued_certificates_client_id ON issued_certificates (client_id, serial)
  WHERE client_id IS NOT NULL;
