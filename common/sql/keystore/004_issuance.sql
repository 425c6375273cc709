-- Signet key store, schema version 4: the certificate ledger and the API clients.
-- Written by signet::issuance::Ledger. Backups carry these tables like every other table that the
-- restore does not handle itself (rows already present, by primary key, are kept).

-- Every certificate the CA signs, recorded as an intent before it is signed: a serial that was
-- handed to the signer is never lost, even when the process dies between signing and storing.
CREATE TABLE issued_certificates (
  serial            TEXT    PRIMARY KEY, -- uppercase hex, even length, no leading "00"
                                         -- (as `openssl x509 -serial` prints it)
  state             TEXT    NOT NULL CHECK (state IN ('intent', 'issued')),
                                         -- 'intent': reserved, about to be signed, never reached a
                                         -- client; 'issued': signed and stored in der
  profile           TEXT    NOT NULL,    -- the issuance profile's name
  client            TEXT    NOT NULL,    -- API client name, or 'operator:<user>' for the CLI
  subject           TEXT    NOT NULL,    -- RFC 2253 subject, '' when empty
  names             TEXT    NOT NULL,    -- JSON array: "dns:a.example.test", "ip:192.0.2.1", ...
  requested_at      INTEGER NOT NULL,    -- unix seconds, UTC, of the intent
  not_before        INTEGER NOT NULL,    -- unix seconds, UTC (the certificate's, once issued)
  not_after         INTEGER NOT NULL,    -- unix seconds, UTC (the certificate's, once issued)
  der               BLOB,                -- the certificate, DER; NULL while an intent
  revoked_at        INTEGER,             -- unix seconds, UTC; NULL while not revoked
  revocation_reason INTEGER,             -- RFC 5280 CRLReason number; NULL while not revoked
  revoked_by        TEXT,                -- who revoked it (audit_log has the details)
  revision          INTEGER,             -- the revocation's sequence number, 1, 2, ... in the
                                         -- order of revocations (delta CRLs, caches); NULL while
                                         -- not revoked
  CHECK ((state = 'intent' AND der IS NULL) OR (state = 'issued' AND der IS NOT NULL)),
  CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL)
         AND (revoked_at IS NULL) = (revision IS NULL)),
  CHECK (revoked_at IS NULL OR state = 'issued')  -- an intent cannot be revoked
) STRICT;
-- The CRL and revoked listings, in serial order, read only the revoked rows.
CREATE INDEX issued_certificates_revoked ON issued_certificates (serial) WHERE revoked_at IS NOT NULL;
-- Answers max(revision) and "since revision N". Not unique: a restore that merges another store's
-- revocations must never drop one because its number is taken here.
CREATE INDEX issued_certificates_revision ON issued_certificates (revision)
  WHERE revision IS NOT NULL;
-- One client's certificates, in serial order (listing pages).
CREATE INDEX issued_certificates_client ON issued_certificates (client, serial);

-- Who may use the HTTPS API. A token is "sgt_<id>_<secret>"; only the SHA-256 of the secret is
-- kept, so the store (or a backup of it) never holds a usable token.
CREATE TABLE api_clients (
  name          TEXT    PRIMARY KEY,      -- 1..64 characters of [A-Za-z0-9._-]
  id            TEXT    NOT NULL UNIQUE CHECK (length(id) = 16), -- 16 lowercase hex: finds the row
  secret_sha256 BLOB    NOT NULL CHECK (length(secret_sha256) = 32), -- SHA-256 of the token's
                                          -- secret part (its text, as the token carries it)
  profiles      TEXT    NOT NULL,         -- JSON array of profile names it may use ("*" = all)
  admin         INTEGER NOT NULL CHECK (admin IN (0, 1)), -- 1: may revoke and manage clients
  created_at    INTEGER NOT NULL          -- unix seconds, UTC
) STRICT;

-- At most one row: the last CRL number used. The row appears with the first CRL (no row means
-- none was issued yet), so that restoring a backup into a new store brings the backup's number
-- instead of keeping a fresh store's, which would make CRL numbers go backwards.
CREATE TABLE crl_state (
  singleton   INTEGER PRIMARY KEY CHECK (singleton = 1), -- always 1
  crl_number  INTEGER NOT NULL CHECK (crl_number > 0),   -- the last cRLNumber issued
  updated_at  INTEGER NOT NULL                           -- unix seconds, UTC
) STRICT;
