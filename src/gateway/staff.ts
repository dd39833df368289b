// The staff page and its JSON twin on the LAN port, served by the gateway
// itself under /.storegw/, a prefix Odoo does not use: none of its routes lies
// there, and a website page cannot be made there (page URLs are slugified,
// which drops dots).
// Every path under it is the gateway's (an unknown one is a 404 here), never
// forwarded, for HTTP and WebSocket alike. Read-only, no admin token: the
// device admission in front of it is the ingress's, as for any LAN request.
import type { FastifyReply } from 'fastify';
import type { Outcome } from './metrics.js';
import { sendError } from './replies.js';
import { STAFF_PAGE_CSP, staffPage } from './staff-page.js';
import { staffView, type StaffFacts } from './staff-view.js';

const PREFIX = '/.storegw';
export const STAFF_PAGE_PATH = `${PREFIX}/status`;
export const STAFF_JSON_PATH = `${PREFIX}/status.json`;

/** Whether a (percent-decoded) path is the gateway's own: the encoded forms of the prefix are caught as well. */
export const isOwnPath = (path: string) => path === PREFIX || path.startsWith(`${PREFIX}/`);

export interface StaffRequest {
  method: string;
  path: string;
  reply: FastifyReply;
  done: (outcome: Outcome) => void;
  facts: () => Promise<StaffFacts>;
}

export async function answerStaff({ method, path, reply, done, facts }: StaffRequest) {
  if (path !== STAFF_PAGE_PATH && path !== STAFF_JSON_PATH) {
    done('no_route');
    return sendError(reply, 404, 'not_found', `${PREFIX}/ is the gateway's own; its status page is ${STAFF_PAGE_PATH}`);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    done('bad_request');
    return sendError(reply, 405, 'method_not_allowed', 'the status page is read-only: GET or HEAD', { allow: 'GET, HEAD' });
  }
  const view = staffView(await facts(), { now: Date.now() });
  done('status_page');
  // A status shown from a cache would say "online" to a store that is not.
  reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
  if (path === STAFF_JSON_PATH) return reply.type('application/json; charset=utf-8').send(JSON.stringify(view));
  return reply.header('content-security-policy', STAFF_PAGE_CSP).type('text/html; charset=utf-8').send(staffPage(view));
}
