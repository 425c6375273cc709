-- ACME (RFC 8555): accounts, orders, authorizations, challenges and external account binding
-- keys, as in the key store's SQLite schema (version 6), so that every node answers for every
-- account; and the nonces redeemed by any node, so that a nonce is used once across all of them.
-- Written by signet::acme::AcmeStore (signetd), read by `signet acme`.
--
-- Times are unix seconds, UTC. Ids are 22 characters of base64url; "C" collation orders them as
-- SQLite does.

CREATE TABLE acme_accounts (
  id           text COLLATE "C" PRIMARY KEY,
  thumbprint   text NOT NULL UNIQUE,       -- RFC 7638 thumbprint of the account key (base64url)
  jwk          text NOT NULL,              -- the account key, a JSON object (public members only)
  status       text NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
  contact      text NOT NULL,              -- JSON array of "mailto:" URLs
  eab_kid      text,                       -- the external account binding it was created with
  created_at   bigint NOT NULL,
  created_from text NOT NULL               -- the client address that created it
);

CREATE TABLE acme_orders (
  id             text COLLATE "C" PRIMARY KEY,
  account_id     text NOT NULL,
  status         text NOT NULL CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
  identifiers    text NOT NULL,            -- JSON array of {"type", "value"}
  authorizations text NOT NULL,            -- JSON array of authorization ids, in identifier order
  not_after      bigint,
  expires        bigint NOT NULL,
  error          text,                     -- problem document (JSON) of an invalid order
  serial         text,                     -- the certificate's, once valid
  created_at     bigint NOT NULL
);
CREATE INDEX acme_orders_by_account ON acme_orders (account_id, created_at);
CREATE INDEX acme_orders_by_expiry ON acme_orders (expires);

CREATE TABLE acme_authorizations (
  id               text COLLATE "C" PRIMARY KEY,
  account_id       text NOT NULL,
  identifier_type  text NOT NULL CHECK (identifier_type IN ('dns', 'ip')),
  identifier_value text NOT NULL,          -- without "*." for a wildcard
  wildcard         bigint NOT NULL CHECK (wildcard IN (0, 1)),
  status           text NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'expired',
                                                   'revoked')),
  expires          bigint NOT NULL,
  created_at       bigint NOT NULL
);
CREATE INDEX acme_authorizations_by_account ON acme_authorizations
  (account_id, identifier_type, identifier_value, wildcard, status);
CREATE INDEX acme_authorizations_by_expiry ON acme_authorizations (expires);

CREATE TABLE acme_challenges (
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,  -- insertion order (SQLite's rowid)
  id               text COLLATE "C" PRIMARY KEY,
  authorization_id text NOT NULL,
  type             text NOT NULL CHECK (type IN ('http-01', 'dns-01', 'tls-alpn-01')),
  token            text NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
  validated_at     bigint,
  error            text,
  address          text
);
CREATE INDEX acme_challenges_by_authorization ON acme_challenges (authorization_id);
CREATE INDEX acme_challenges_processing ON acme_challenges (status) WHERE status = 'processing';

-- Moved here by `signet ledger migrate` (the profile of the accounts they bound). New keys cannot be
-- added on a shared database: each node's key store seals them under its own data key.
CREATE TABLE acme_eab_keys (
  kid          text COLLATE "C" PRIMARY KEY,
  name         text NOT NULL,
  hmac_sealed  bytea NOT NULL,
  profile      text NOT NULL,
  created_at   bigint NOT NULL,
  removed_at   bigint,
  account_id   text
);

-- The key every node's replay nonces are authenticated with (one row, drawn by the first node), and
-- the nonces redeemed, until they expire. A nonce is accepted once: the node that takes it inserts
-- its row, and a second insert of the same nonce, on any node, finds it there.
CREATE TABLE acme_nonce_key (
  id  integer PRIMARY KEY CHECK (id = 1),
  key bytea NOT NULL CHECK (length(key) = 32)
);
CREATE TABLE acme_nonces (
  nonce   bytea PRIMARY KEY,
  expires bigint NOT NULL
);
CREATE INDEX acme_nonces_by_expiry ON acme_nonces (expires);
