// The hub database's schema and its migrations, one list for both backends.
// Where SQLite and PostgreSQL differ, a migration names the difference
// (SqlDifferences) instead of spelling it: SQLite's text comes out as it always
// was. An SQLite file is marked with its own application_id, so neither a
// gateway journal nor a foreign file is ever taken for it, and user_version is
// the schema version; PostgreSQL keeps both in the table storegw_hub.
import type { Dialect } from './store/sql/database.js';

/** "SGWH" */
export const HUB_APPLICATION_ID = 0x53475748;

interface SqlDifferences {
  /** Milliseconds and counts: SQLite's INTEGER is 64 bits, PostgreSQL's is 32. */
  int: string;
  /** An ever-growing key. */
  seq: string;
  /** A table keyed by its primary key (SQLite's rowid would be a second index). */
  withoutRowid: string;
  /** The column PostgreSQL needs where SQLite's implicit rowid orders and picks rows. */
  rowid: string;
  /** A table whose rows live for milliseconds: PostgreSQL writes no WAL for it (and empties it after a crash). */
  unlogged: string;
  /** A rollout's `state` JSON, marked interrupted with `reason` (a quoted SQL string). */
  interruptedState: (reason: string) => string;
}

const DIFFERENCES: Record<Dialect, SqlDifferences> = {
  sqlite: {
    int: 'INTEGER',
    seq: 'INTEGER PRIMARY KEY AUTOINCREMENT',
    withoutRowid: ' WITHOUT ROWID',
    rowid: '',
    unlogged: '',
    interruptedState: (reason) => `json_set(state, '$.status', 'interrupted', '$.reason', ${reason})`,
  },
  postgres: {
    int: 'BIGINT',
    seq: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    withoutRowid: '',
    rowid: 'rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,\n     ',
    unlogged: 'UNLOGGED ',
    interruptedState: (reason) => `(state::jsonb || jsonb_build_object('status', 'interrupted', 'reason', ${reason}))::text`,
  },
};

/** Migration N brings the schema from version N to N+1. Append only. */
const MIGRATIONS: readonly ((t: SqlDifferences) => string)[] = [
  (t) => `CREATE TABLE gateways (
     id                 TEXT PRIMARY KEY,
     region             TEXT    NOT NULL,
     tags               TEXT    NOT NULL,
     version            TEXT    NOT NULL,
     config_version     TEXT    NOT NULL,
     reported_ts        ${t.int} NOT NULL,
     paths              TEXT    NOT NULL,
     latest             TEXT,
     latest_ts          ${t.int},
     first_seen         ${t.int} NOT NULL,
     last_seen          ${t.int} NOT NULL,
     online             ${t.int} NOT NULL
   );
   CREATE TABLE desired (
     gateway_id    TEXT PRIMARY KEY,
     yaml          TEXT    NOT NULL,
     version       TEXT    NOT NULL,
     set_by        TEXT    NOT NULL,
     set_at        ${t.int} NOT NULL,
     apply_status  TEXT    NOT NULL CHECK (apply_status IN ('pending', 'sent', 'applied', 'failed')),
     apply_error   TEXT,
     apply_at      ${t.int}
   )${t.withoutRowid};
   CREATE TABLE telemetry (
     ${t.rowid}gateway_id  TEXT    NOT NULL,
     ts          ${t.int} NOT NULL,
     data        TEXT    NOT NULL
   );
   CREATE INDEX telemetry_gateway ON telemetry (gateway_id, ts);
   CREATE INDEX telemetry_age     ON telemetry (ts);
   CREATE TABLE telemetry_minute (
     gateway_id  TEXT    NOT NULL,
     minute      ${t.int} NOT NULL,
     data        TEXT    NOT NULL,
     PRIMARY KEY (gateway_id, minute)
   )${t.withoutRowid};
   CREATE INDEX telemetry_minute_age ON telemetry_minute (minute);
   CREATE TABLE events (
     seq         ${t.seq},
     gateway_id  TEXT    NOT NULL,
     ts          ${t.int} NOT NULL,
     source      TEXT    NOT NULL CHECK (source IN ('gateway', 'hub')),
     event       TEXT    NOT NULL,
     details     TEXT    NOT NULL
   );
   CREATE INDEX events_gateway ON events (gateway_id, seq);
   CREATE INDEX events_age     ON events (ts);
   CREATE TABLE commands (
     ${t.rowid}id           TEXT PRIMARY KEY,
     gateway_id   TEXT    NOT NULL,
     command      TEXT    NOT NULL,
     args         TEXT    NOT NULL,
     who          TEXT    NOT NULL,
     role         TEXT    NOT NULL,
     sent_at      ${t.int} NOT NULL,
     finished_at  ${t.int},
     outcome      TEXT,
     result       TEXT
   );
   CREATE INDEX commands_gateway ON commands (gateway_id, sent_at);
   CREATE INDEX commands_age     ON commands (sent_at);
   CREATE TABLE rollouts (
     id          TEXT PRIMARY KEY,
     created_at  ${t.int} NOT NULL,
     status      TEXT    NOT NULL,
     state       TEXT    NOT NULL
   );`,
  // Unknown outcomes: each gateway's unknown_outcome events and the queue.settle
  // commands that answered them are read at every look at the gateway, without
  // walking all its link changes and replay commands to find them. (The unknown
  // count itself travels in the telemetry JSON, as pending and dead do.)
  () => `CREATE INDEX events_gateway_event     ON events (gateway_id, event, seq);
   CREATE INDEX commands_gateway_command ON commands (gateway_id, command, sent_at);`,
  // Hub replicas on one PostgreSQL database (replicas.ts): each replica's
  // heartbeat, which replica holds each gateway's websocket, and the messages
  // replicas hand each other (a command to send, its outcome) — in a row,
  // because a NOTIFY payload is limited to 8000 bytes and a config.apply or a
  // queue.list is not. On SQLite the hub is one replica and they stay empty.
  // The relay is unlogged: its rows are written and deleted per command, and
  // one lost with a crashed server costs its asker a timeout, which a WAL
  // record of each would not spare it.
  (t) => `CREATE TABLE hub_replicas (
     id            TEXT PRIMARY KEY,
     heartbeat_at  ${t.int} NOT NULL
   )${t.withoutRowid};
   CREATE TABLE hub_presence (
     gateway_id  TEXT PRIMARY KEY,
     replica_id  TEXT    NOT NULL,
     since       ${t.int} NOT NULL
   )${t.withoutRowid};
   CREATE INDEX hub_presence_replica ON hub_presence (replica_id);
   CREATE ${t.unlogged}TABLE hub_relay (
     seq         ${t.seq},
     to_replica  TEXT    NOT NULL,
     body        TEXT    NOT NULL,
     created_at  ${t.int} NOT NULL
   );
   CREATE INDEX hub_relay_age ON hub_relay (created_at);`,
  // At-least-once delivery (the `acks` feature): a gateway resends what the hub
  // had not acknowledged, which a hub killed after its commit had stored. The
  // message's id, unique per gateway, makes the resend a no-op (ON CONFLICT DO
  // NOTHING). NULL where there is none (older rows, the hub's own events,
  // roll-ups), and left out of the index: the rows already there (a day of raw
  // telemetry) are read once to build it, not written into it.
  () => `ALTER TABLE telemetry ADD COLUMN msg_id TEXT;
   CREATE UNIQUE INDEX telemetry_message ON telemetry (gateway_id, msg_id) WHERE msg_id IS NOT NULL;
   ALTER TABLE events ADD COLUMN msg_id TEXT;
   CREATE UNIQUE INDEX events_message ON events (gateway_id, msg_id) WHERE msg_id IS NOT NULL;`,
  // One rollout runs at a time across hub replicas: the database refuses a
  // second running row, where two replicas' own checks could each find none
  // (rollout-states.ts, begin). Running rows from before, which that race could
  // leave, are interrupted but for the newest, so the index can be built.
  (t) => `UPDATE rollouts SET status = 'interrupted', state = ${t.interruptedState("'another rollout was running at the same time; desired configs already set stay set'")}
     WHERE status IN ('canary', 'rolling')
       AND id <> (SELECT id FROM rollouts WHERE status IN ('canary', 'rolling') ORDER BY created_at DESC, id LIMIT 1);
   CREATE UNIQUE INDEX rollouts_running ON rollouts ((status IN ('canary', 'rolling'))) WHERE status IN ('canary', 'rolling');`,
];

/** The migrations in `dialect`'s SQL. */
export function hubMigrations(dialect: Dialect): string[] {
  return MIGRATIONS.map((m) => m(DIFFERENCES[dialect]));
}

export const HUB_SCHEMA_VERSION = MIGRATIONS.length;
