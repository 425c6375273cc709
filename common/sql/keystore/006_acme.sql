-- Signet key store, schema version 6: ACME (RFC 8555) accounts, orders, authorizations and
-- challenges. Written by signet::acme::AcmeStore (signetd), read by `signet acme`.
--
-- No foreign keys, as in the ledger: a restore copies the tables one by one. Ids are 22 characters
-- of base64url (16 random bytes): they appear in URLs, and guessing one must be hopeless.
-- Times are unix seconds, UTC.

CREATE TABLE acme_accounts (
  id           TEXT    PRIMARY KEY,
  thumbprint   TEXT    NOT NULL UNIQUE,   -- RFC 7638 thumbprint of the account key (base64url)
  jwk          TEXT    NOT NULL,          -- the account key, a JSON object (public members only)
  status       TEXT    NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
  contact      TEXT    NOT NULL,          -- JSON array of "mailto:" URLs
  eab_kid      TEXT,                      -- the external account binding it was created with
  created_at   INTEGER NOT NULL,
  created_from TEXT    NOT NULL           -- the client address that created it
) STRICT;

CREATE TABLE acme_orders (
  id             TEXT    PRIMARY KEY,
  account_id     TEXT    NOT NULL,
  status         TEXT    NOT NULL CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
  identifiers    TEXT    NOT NULL,        -- JSON array of {"type", "value"}
  authorizations TEXT    NOT NULL,        -- JSON array of authorization ids, in identifier order
  not_after      INTEGER,                 -- as the client asked, when it did
  expires        INTEGER NOT NULL,
  error          TEXT,                    -- problem document (JSON) of an invalid order
  serial         TEXT,                    -- the certificate's, once valid
  created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX acme_orders_by_account ON acme_orders (account_id, created_at);
CREATE INDEX acme_orders_by_expiry ON acme_orders (expires);

CREATE TABLE acme_authorizations (
  id               TEXT    PRIMARY KEY,
  account_id       TEXT    NOT NULL,
  identifier_type  TEXT    NOT NULL CHECK (identifier_type IN ('dns', 'ip')),
  identifier_value TEXT    NOT NULL,      -- without "*." for a wildcard
  wildcard         INTEGER NOT NULL CHECK (wildcard IN (0, 1)),
  status           TEXT    NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated',
                                                      'expired', 'revoked')),
  expires          INTEGER NOT NULL,
  created_at       INTEGER NOT NULL
) STRICT;
-- Reuse of a valid authorization, and counting an account's pending ones.
CREATE INDEX acme_authorizations_by_account ON acme_authorizations
  (account_id, identifier_type, identifier_value, wildcard, status);
CREATE INDEX acme_authorizations_by_expiry ON acme_authorizations (expires);

CREATE TABLE acme_challenges (
  id               TEXT    PRIMARY KEY,
  authorization_id TEXT    NOT NULL,
  type             TEXT    NOT NULL CHECK (type IN ('http-01', 'dns-01', 'tls-alpn-01')),
  token            TEXT    NOT NULL,      -- 43 characters of base64url (32 random bytes)
  status           TEXT    NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
  validated_at     INTEGER,
  error            TEXT,                  -- problem document (JSON) of an invalid challenge
  address          TEXT                   -- the address validation reached, for the record
) STRICT;
CREATE INDEX acme_challenges_by_authorization ON acme_challenges (authorization_id);
CREATE INDEX acme_challenges_processing ON acme_challenges (status) WHERE status = 'processing';

-- External account binding keys (RFC 8555 7.3.4), made by `signet acme eab add`. The HMAC key is
-- sealed with a key derived from the store's data key, so a copy of the database alone does not
-- give it away.
CREATE TABLE acme_eab_keys (
  kid          TEXT    PRIMARY KEY,
  name         TEXT    NOT NULL,          -- what the operator called it
  hmac_sealed  BLOB    NOT NULL,
  profile      TEXT    NOT NULL,          -- the profile orders of accounts bound with it use
  created_at   INTEGER NOT NULL,
  removed_at   INTEGER,
  account_id   TEXT                       -- the account it bound, once used (one account per key)
) STRICT;
