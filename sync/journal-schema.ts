// The journal's on-disk format and its migrations. The file is marked with
// SQLite's application_id so a foreign database is recognised and never
// written to; user_version is the schema version.

/** "SGWJ" */
export const APPLICATION_ID = 0x5347574a;

/** Migration N brings the schema from version N to N+1. Append only. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE entries (
     seq              INTEGER PRIMARY KEY AUTOINCREMENT,
     receipt          TEXT    NOT NULL UNIQUE,
     idem_key         TEXT    NOT NULL UNIQUE,
     route            TEXT    NOT NULL,
     class            TEXT    NOT NULL,
     priority         INTEGER NOT NULL,
     ordering_key     TEXT,
     method           TEXT    NOT NULL,
     target           TEXT    NOT NULL,
     headers          TEXT    NOT NULL,
     body             BLOB,
     bytes            INTEGER NOT NULL,
     state            TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
     attempts         INTEGER NOT NULL DEFAULT 0,
     next_attempt_at  INTEGER NOT NULL,
     created_at       INTEGER NOT NULL,
     updated_at       INTEGER NOT NULL,
     last_error       TEXT,
     upstream_status  INTEGER,
     response_headers TEXT,
     response_body    BLOB
   );
   CREATE INDEX entries_pending  ON entries (priority, seq) WHERE state = 'pending';
   CREATE INDEX entries_lane     ON entries (ordering_key, seq) WHERE state = 'pending' AND ordering_key IS NOT NULL;
   CREATE INDEX entries_dead     ON entries (seq) WHERE state = 'dead';
   CREATE INDEX entries_done     ON entries (updated_at) WHERE state = 'delivered';
   CREATE INDEX entries_age      ON entries (created_at) WHERE state = 'pending';`,
  // The 'unknown' state (an attempt that may have reached an ERP that does not
  // dedupe), who settled it when, and when an attempt at such an ERP began (a
  // process killed during it leaves the mark). SQLite cannot change a CHECK
  // constraint in place: the table is rebuilt, seq and its AUTOINCREMENT counter kept.
  `CREATE TABLE entries_v2 (
     seq              INTEGER PRIMARY KEY AUTOINCREMENT,
     receipt          TEXT    NOT NULL UNIQUE,
     idem_key         TEXT    NOT NULL UNIQUE,
     route            TEXT    NOT NULL,
     class            TEXT    NOT NULL,
     priority         INTEGER NOT NULL,
     ordering_key     TEXT,
     method           TEXT    NOT NULL,
     target           TEXT    NOT NULL,
     headers          TEXT    NOT NULL,
     body             BLOB,
     bytes            INTEGER NOT NULL,
     state            TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead', 'unknown')),
     attempts         INTEGER NOT NULL DEFAULT 0,
     next_attempt_at  INTEGER NOT NULL,
     created_at       INTEGER NOT NULL,
     updated_at       INTEGER NOT NULL,
     last_error       TEXT,
     upstream_status  INTEGER,
     response_headers TEXT,
     response_body    BLOB,
     settled_by       TEXT,
     settled_at       INTEGER,
     attempt_started_at INTEGER
   );
   INSERT INTO entries_v2 (seq, receipt, idem_key, route, class, priority, ordering_key, method, target, headers, body, bytes, state, attempts,
                           next_attempt_at, created_at, updated_at, last_error, upstream_status, response_headers, response_body)
     SELECT seq, receipt, idem_key, route, class, priority, ordering_key, method, target, headers, body, bytes, state, attempts,
            next_attempt_at, created_at, updated_at, last_error, upstream_status, response_headers, response_body FROM entries;
   DELETE FROM sqlite_sequence WHERE name = 'entries_v2';
   INSERT INTO sqlite_sequence (name, seq)
     SELECT 'entries_v2', MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'entries'), 0), COALESCE((SELECT MAX(seq) FROM entries_v2), 0));
   DROP TABLE entries;
   ALTER TABLE entries_v2 RENAME TO entries;
   CREATE INDEX entries_pending  ON entries (priority, seq) WHERE state = 'pending';
   CREATE INDEX entries_lane     ON entries (ordering_key, seq) WHERE state = 'pending' AND ordering_key IS NOT NULL;
   CREATE INDEX entries_dead     ON entries (seq) WHERE state = 'dead';
   CREATE INDEX entries_done     ON entries (updated_at) WHERE state = 'delivered';
   CREATE INDEX entries_age      ON entries (created_at) WHERE state = 'pending';
   CREATE INDEX entries_unknown  ON entries (next_attempt_at) WHERE state = 'unknown';`,
  // Times on the journal's monotonic clock (journal-clock.ts) beside the
  // wall-clock columns, which stay for people and exports: waits and ages are
  // judged on these, so a wall-clock step neither holds a retry nor expires
  // an entry. The clock table holds that clock's offset from the monotonic
  // clock of the boot it is for, and the latest journal time it was seen in
  // use at. A journal from before has wall-clock times only: they become its
  // clock's times as they are, under a boot id no boot has, so the first open
  // carries them over as after a reboot (ages and remaining waits as they were
  // at its last write).
  `ALTER TABLE entries ADD COLUMN created_mono INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE entries ADD COLUMN updated_mono INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE entries ADD COLUMN next_attempt_mono INTEGER NOT NULL DEFAULT 0;
   UPDATE entries SET created_mono = created_at, updated_mono = updated_at, next_attempt_mono = next_attempt_at;
   DROP INDEX entries_done;
   DROP INDEX entries_age;
   DROP INDEX entries_unknown;
   CREATE INDEX entries_done     ON entries (updated_mono) WHERE state = 'delivered';
   CREATE INDEX entries_age      ON entries (created_mono) WHERE state = 'pending';
   CREATE INDEX entries_unknown  ON entries (next_attempt_mono) WHERE state = 'unknown';
   CREATE TABLE clock (
     id          INTEGER PRIMARY KEY CHECK (id = 1),
     boot_id     TEXT    NOT NULL,
     mono_offset INTEGER NOT NULL,
     seen_mono   INTEGER NOT NULL
   );
   INSERT INTO clock (id, boot_id, mono_offset, seen_mono) VALUES (1, '', 0, COALESCE((SELECT MAX(updated_at) FROM entries), 0));`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * What the journal makes, when it opens, of an attempt at an ERP that does not
 * dedupe that was begun and never settled (the process died during it): an
 * unknown entry with this reason. The journal tools treat such entries alike.
 */
export const INTERRUPTED_ATTEMPT = 'interrupted: the gateway stopped during an attempt that may have reached the ERP';
