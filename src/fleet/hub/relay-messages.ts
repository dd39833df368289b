// What hub replicas hand each other through PostgreSQL (store/relay.ts): a
// command for a gateway whose websocket the addressee holds, that command's
// outcome back to the replica that asked, and word that a gateway the
// addressee holds has a new desired config. Pure: shapes, and a parse
// that takes only what one of them could be (a row is read back from a table
// any replica, of any version, may have written).
import { COMMANDS, type CommandName } from '../protocol.js';
import type { CommandOutcome } from './commands.js';

export interface RelayedCommand {
  kind: 'command';
  /** The command's id: the key of its log entry and of the gateway's own memory of answered commands. */
  id: string;
  gatewayId: string;
  command: CommandName;
  args: Record<string, unknown>;
  timeoutMs: number;
  /** Past this (ms since the epoch) the asking replica has given up: it is not sent any more. */
  deadline: number;
  replyTo: string;
}

export interface RelayedOutcome {
  kind: 'outcome';
  id: string;
  outcome: CommandOutcome;
}

/** An operator set the gateway's desired config through another replica: the holder pushes it. */
export interface RelayedDesired {
  kind: 'desired';
  gatewayId: string;
  /** Who set it, for the command log entry of the config.apply that follows. */
  who: { name: string; role: string };
}

export type RelayMessage = RelayedCommand | RelayedOutcome | RelayedDesired;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function outcomeOf(v: unknown): CommandOutcome | undefined {
  if (!isObject(v)) return undefined;
  switch (v.status) {
    case 'offline':
      return { status: 'offline' };
    case 'busy':
      return typeof v.reason === 'string' ? { status: 'busy', reason: v.reason, ...(isText(v.id) && { id: v.id }) } : undefined;
    case 'timeout':
    case 'disconnected':
      return isText(v.id) ? { status: v.status, id: v.id } : undefined;
    case 'answered': {
      if (!isText(v.id) || typeof v.ok !== 'boolean') return undefined;
      const error = isObject(v.error) && typeof v.error.code === 'string' && typeof v.error.message === 'string' ? { code: v.error.code, message: v.error.message } : undefined;
      return { status: 'answered', id: v.id, ok: v.ok, ...(v.result !== undefined && { result: v.result }), ...(error && { error }) };
    }
    default:
      return undefined;
  }
}

/** The message a relay row holds, or undefined when it is none. */
export function parseRelayMessage(text: string): RelayMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(v)) return undefined;
  if (v.kind === 'desired') {
    const { gatewayId, who } = v;
    if (!isText(gatewayId) || !isObject(who) || !isText(who.name) || !isText(who.role)) return undefined;
    return { kind: 'desired', gatewayId, who: { name: who.name, role: who.role } };
  }
  if (!isText(v.id)) return undefined;
  if (v.kind === 'outcome') {
    const outcome = outcomeOf(v.outcome);
    return outcome && { kind: 'outcome', id: v.id, outcome };
  }
  if (v.kind !== 'command') return undefined;
  const { gatewayId, command, args, timeoutMs, deadline, replyTo } = v;
  if (!isText(gatewayId) || !(COMMANDS as readonly unknown[]).includes(command) || !isObject(args) || !isText(replyTo)) return undefined;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || typeof deadline !== 'number') return undefined;
  return { kind: 'command', id: v.id, gatewayId, command: command as CommandName, args, timeoutMs, deadline, replyTo };
}
