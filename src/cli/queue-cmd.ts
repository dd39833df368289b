// storegw queue ls [--state pending|dead|unknown|delivered] | retry ID | discard ID | settle ID --as retry|delivered --by NAME
import { adminCall, parseAdminArgs } from './admin-client.js';
import { ENTRY_STATES } from '../../sync/journal-store.js';
import { UsageError } from './usage.js';

interface Entry {
  receipt: string;
  route: string;
  cls: string;
  state: string;
  attempts: number;
  createdAt: number;
  lastError: string | null;
}

export function renderEntries(entries: Entry[], now: number): string {
  if (entries.length === 0) return 'no entries';
  const rows = entries.map((e) =>
    [e.receipt, e.route.padEnd(16), e.cls.padEnd(11), String(e.attempts).padEnd(8), `${Math.round((now - e.createdAt) / 1000)}s`.padEnd(8), e.lastError ?? ''].join(' '),
  );
  return ['RECEIPT                              ROUTE            CLASS       ATTEMPTS AGE      LAST ERROR', ...rows].join('\n');
}

export async function queueCommand(args: string[], out: (s: string) => void): Promise<number> {
  const { target, values, positionals } = parseAdminArgs(args, { state: { type: 'string', default: 'pending' }, as: { type: 'string' }, by: { type: 'string' } });
  const [sub, id, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`too many arguments: ${rest.join(' ')}`);
  switch (sub) {
    case 'ls': {
      const state = values.state as string;
      if (!(ENTRY_STATES as readonly string[]).includes(state)) throw new UsageError(`--state is one of ${ENTRY_STATES.join(', ')}`);
      const res = (await adminCall(target, 'GET', `/v1/queue?state=${state}&limit=1000`)) as { entries: Entry[] };
      out(values.json ? JSON.stringify(res.entries, null, 2) : renderEntries(res.entries, Date.now()));
      return 0;
    }
    case 'retry':
    case 'discard': {
      if (!id) throw new UsageError(`${sub} needs an ID`);
      const res = await adminCall(target, sub === 'retry' ? 'POST' : 'DELETE', sub === 'retry' ? `/v1/queue/${encodeURIComponent(id)}/retry` : `/v1/queue/${encodeURIComponent(id)}`);
      out(values.json ? JSON.stringify(res) : sub === 'retry' ? `${id}: back in the queue` : `${id}: discarded`);
      return 0;
    }
    case 'settle': {
      // Settling says whether a write took effect at the ERP: a person looked, and is named.
      if (!id || (values.as !== 'retry' && values.as !== 'delivered') || typeof values.by !== 'string' || values.by === '')
        throw new UsageError('settle needs ID, --as retry|delivered and --by NAME (retry: it is not in Odoo, send it again; delivered: it is)');
      await adminCall(target, 'POST', `/v1/queue/${encodeURIComponent(id)}/settle`, { as: values.as, by: values.by });
      out(values.json ? JSON.stringify({ receipt: id, as: values.as, by: values.by }) : `${id}: settled as ${values.as} by ${values.by}`);
      return 0;
    }
    default:
      throw new UsageError(sub === undefined ? 'a subcommand is required' : `unknown queue command: ${sub}`);
  }
}
