-- Signet key store, schema version 3: the installation.
-- What `signet setup` (or the wizard) last applied to this store: which key is the CA key, which
-- of its certificates is the CA certificate, and the answers, so that a reinstall can be scripted
-- (`signet setup --print-answers`). At most one row.
CREATE TABLE installation (
  singleton       INTEGER PRIMARY KEY CHECK (singleton = 1), -- always 1
  state           TEXT    NOT NULL,  -- 'installed', or 'pending-certificate' for a subordinate CA
                                     -- waiting for its parent's certificate
  ca_fingerprint  BLOB    NOT NULL,  -- SHA-256 of the CA key's public key (survives renames)
  ca_certificate  BLOB,              -- SHA-256 of the CA certificate's DER; NULL while pending
  answers         TEXT    NOT NULL,  -- the applied plan as an answers file (TOML; no secrets)
  updated_at      INTEGER NOT NULL   -- unix seconds, UTC
) STRICT;
