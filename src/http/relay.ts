// An upstream answer passed on to a client's response as it comes, the way
// both the gateway and the bench's Node floor pass one: the floor measures
// what this costs with nothing else around it.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** Headers as both fastify's reply and an upstream's answer hold them. */
export type AnswerHeaders = Record<string, number | string | string[] | undefined>;

/**
 * Writes `status` and `headers`, then `body` to `res`. Either side failing
 * tears the other down: an answer cut off cuts the client's response, a
 * client gone frees the answer (and what holds it: a connection, a slot).
 * pipe and two listeners, not pipeline(): in an A/B of the gateway,
 * pipeline() cost 1.16× the CPU per request of fastify's whole send path.
 */
export function relayAnswer(res: ServerResponse, status: number, headers: AnswerHeaders, body: Readable): void {
  // A client gone while the upstream answered: nothing would ever read the answer.
  if (res.destroyed) {
    body.once('error', () => undefined).destroy();
    return;
  }
  res.writeHead(status, headers);
  body.on('error', () => res.destroy());
  res.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(res);
}
