// The hub database's on-disk format and its migrations. Marked with its own
// application_id, so neither a gateway journal nor a foreign file is ever taken
// for it; user_version is the schema version.

/** "SGWH" */
export const HUB_APPLICATION_ID = 0x53475748;

/** Migration N brings the schema from version N to N+1. Append only. */
export const HUB_MIGRATIONS: readonly string[] = [
  `CREATE TABLE gateways (
     id                 TEXT PRIMARY KEY,
     region             TEXT    NOT NULL,
     tags               TEXT    NOT NULL,
     version            TEXT    NOT NULL,
     config_version     TEXT    NOT NULL,
     reported_ts        INTEGER NOT NULL,
     paths              TEXT    NOT NULL,
     latest             TEXT,
     latest_ts          INTEGER,
     first_seen         INTEGER NOT NULL,
     last_seen          INTEGER NOT NULL,
     online             INTEGER NOT NULL
   );
   CREATE TABLE desired (
     gateway_id    TEXT PRIMARY KEY,
     yaml          TEXT    NOT NULL,
     version       TEXT    NOT NULL,
     set_by        TEXT    NOT NULL,
     set_at        INTEGER NOT NULL,
     apply_status  TEXT    NOT NULL CHECK (apply_status IN ('pending', 'sent', 'applied', 'failed')),
     apply_error   TEXT,
     apply_at      INTEGER
   ) WITHOUT ROWID;
   CREATE TABLE telemetry (
     gateway_id  TEXT    NOT NULL,
     ts          INTEGER NOT NULL,
     data        TEXT    NOT NULL
   );
   CREATE INDEX telemetry_gateway ON telemetry (gateway_id, ts);
   CREATE INDEX telemetry_age     ON telemetry (ts);
   CREATE TABLE telemetry_minute (
     gateway_id  TEXT    NOT NULL,
     minute      INTEGER NOT NULL,
     data        TEXT    NOT NULL,
     PRIMARY KEY (gateway_id, minute)
   ) WITHOUT ROWID;
   CREATE INDEX telemetry_minute_age ON telemetry_minute (minute);
   CREATE TABLE events (
     seq         INTEGER PRIMARY KEY AUTOINCREMENT,
     gateway_id  TEXT    NOT NULL,
     ts          INTEGER NOT NULL,
     source      TEXT    NOT NULL CHECK (source IN ('gateway', 'hub')),
     event       TEXT    NOT NULL,
     details     TEXT    NOT NULL
   );
   CREATE INDEX events_gateway ON events (gateway_id, seq);
   CREATE INDEX events_age     ON events (ts);
   CREATE TABLE commands (
     id           TEXT PRIMARY KEY,
     gateway_id   TEXT    NOT NULL,
     command      TEXT    NOT NULL,
     args         TEXT    NOT NULL,
     who          TEXT    NOT NULL,
     role         TEXT    NOT NULL,
     sent_at      INTEGER NOT NULL,
     finished_at  INTEGER,
     outcome      TEXT,
     result       TEXT
   );
   CREATE INDEX commands_gateway ON commands (gateway_id, sent_at);
   CREATE INDEX commands_age     ON commands (sent_at);
   CREATE TABLE rollouts (
     id          TEXT PRIMARY KEY,
     created_at  INTEGER NOT NULL,
     status      TEXT    NOT NULL,
     state       TEXT    NOT NULL
   );`,
  // Unknown outcomes: each gateway's unknown_outcome events and the queue.settle
  // commands that answered them are read at every look at the gateway, without
  // walking all its link changes and replay commands to find them. (The unknown
  // count itself travels in the telemetry JSON, as pending and dead do.)
  `CREATE INDEX events_gateway_event     ON events (gateway_id, event, seq);
   CREATE INDEX commands_gateway_command ON commands (gateway_id, command, sent_at);`,
];

export const HUB_SCHEMA_VERSION = HUB_MIGRATIONS.length;
