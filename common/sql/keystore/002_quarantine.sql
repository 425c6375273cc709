-- Signet key store, schema version 2: the quarantine.
-- A restore checks every entry of a backup before writing anything. Entries that fail the
-- integrity check are not added as keys; they are recorded here, with their findings, so that
-- they are accounted for and never offered by any listing or picker.
CREATE TABLE quarantine (
  id               INTEGER PRIMARY KEY,
  origin_store_id  BLOB    NOT NULL,  -- store id of the store the backup was made from
  origin_key_id    INTEGER NOT NULL,  -- the entry's key id in that store
  origin_backup_id BLOB    NOT NULL,  -- file id of the backup it came from
  name             TEXT    NOT NULL,  -- the entry's name in that store
  algorithm        TEXT    NOT NULL,  -- as recorded (may be what is wrong)
  public_key       BLOB,              -- as recorded, may be NULL
  fingerprint      BLOB,              -- as recorded, may be NULL
  entry_digest     BLOB    NOT NULL,  -- SHA-256 over the entry as stored: restoring the same
                                      -- backup twice does not quarantine the same entry twice
  findings         TEXT    NOT NULL,  -- JSON array of {code, severity, message, fix}
  quarantined_at   INTEGER NOT NULL,  -- unix seconds, UTC
  UNIQUE (origin_store_id, origin_key_id, entry_digest)
) STRICT;
