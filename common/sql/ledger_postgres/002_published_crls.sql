-- The newest CRLs, full and delta, as the builder node signed them. One node at a time builds
-- (it holds a session advisory lock, released when it stops or dies); every node serves what is
-- here, so relying parties see the same CRL, with one cRLNumber, whichever node they ask.
CREATE TABLE published_crls (
  kind text PRIMARY KEY CHECK (kind IN ('full', 'delta')),
  number bigint NOT NULL CHECK (number > 0),
  der bytea NOT NULL,
  this_update bigint NOT NULL,
  next_update bigint NOT NULL CHECK (next_update > this_update),
  base_revision bigint NOT NULL,  -- full: the revocation revision it covers; delta: its base's
  base_number bigint,             -- delta: the full CRL it is relative to
  published_by text NOT NULL
);
