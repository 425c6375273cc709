-- Signet key store, schema version 1.
-- Applied in one transaction by signet::db::migrate(); PRAGMA user_version records the version.
-- Columns that hold key material are deliberately nullable: a row damaged or edited by hand must
-- still load so that the integrity check can report exactly what is missing, instead of the
-- store refusing to open.

-- Exactly one row: the store's identity and its envelope-encryption parameters.
CREATE TABLE store_meta (
  singleton        INTEGER PRIMARY KEY CHECK (singleton = 1), -- always 1: one row per store
  store_id         BLOB    NOT NULL,   -- 16 random bytes; part of every key entry's AAD
  created_at       INTEGER NOT NULL,   -- unix seconds, UTC
  kdf_algorithm    TEXT    NOT NULL,   -- 'scrypt'
  kdf_n            INTEGER NOT NULL,   -- scrypt N (power of two)
  kdf_r            INTEGER NOT NULL,   -- scrypt r
  kdf_p            INTEGER NOT NULL,   -- scrypt p
  kdf_salt         BLOB    NOT NULL,   -- 32 random bytes, new on every passphrase change
  wrapped_data_key BLOB    NOT NULL,   -- AES-256-GCM(passphrase key, data key): nonce||ct||tag
  passphrase_changed_at INTEGER NOT NULL -- unix seconds of the last wrap of the data key
) STRICT;

-- One row per key entry.
CREATE TABLE keys (
  id                    INTEGER PRIMARY KEY AUTOINCREMENT, -- key id; part of the AAD, never reused
  name                  TEXT    NOT NULL UNIQUE, -- operator-chosen, unique in the store
  algorithm             TEXT    NOT NULL,  -- ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519
  public_key            BLOB,              -- SubjectPublicKeyInfo, DER
  fingerprint           BLOB,              -- SHA-256 of public_key; part of the AAD
  encrypted_private_key BLOB,              -- AES-256-GCM(data key, PKCS#8 DER): nonce||ct||tag
  source                TEXT    NOT NULL,  -- generated, imported or restored
  created_at            INTEGER NOT NULL,  -- unix seconds, UTC
  comment               TEXT    NOT NULL DEFAULT '' -- free text from the operator
) STRICT;
CREATE INDEX keys_fingerprint ON keys (fingerprint);

-- Certificates attached to a key entry.
CREATE TABLE key_certificates (
  id        INTEGER PRIMARY KEY,
  key_id    INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE, -- owning entry
  role      TEXT    NOT NULL,  -- 'ca': the key's CA certificate; 'leaf': the key's own
                               -- non-CA certificate; 'chain': an issuer certificate above it
  position  INTEGER NOT NULL,  -- order within the entry: own certificates first, then the chain
  der       BLOB    NOT NULL,  -- the certificate, DER
  added_at  INTEGER NOT NULL   -- unix seconds, UTC
) STRICT;
CREATE INDEX key_certificates_key ON key_certificates (key_id, position);

-- Certificate requests (CSRs) attached to a key entry. A request is never a key by itself.
CREATE TABLE key_requests (
  id        INTEGER PRIMARY KEY,
  key_id    INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE, -- owning entry
  der       BLOB    NOT NULL,  -- PKCS#10 request, DER
  added_at  INTEGER NOT NULL   -- unix seconds, UTC
) STRICT;
CREATE INDEX key_requests_key ON key_requests (key_id);

-- Every administrative change to the store, in the same transaction as the change.
CREATE TABLE audit_log (
  id       INTEGER PRIMARY KEY,
  at       INTEGER NOT NULL,  -- unix seconds, UTC
  actor    TEXT    NOT NULL,  -- who: the local user name for CLI actions
  action   TEXT    NOT NULL,  -- e.g. store.init, key.generate, key.delete
  subject  TEXT    NOT NULL,  -- what: a key name, or '' for the store itself
  detail   TEXT    NOT NULL   -- non-secret details: fingerprint, old name, ...
) STRICT;
