import { describe, expect, it } from 'vitest';
import { classifyHttpAnswer, networkFailure } from './rpc-answer.js';

const json = 'application/json';

describe('classifyHttpAnswer (web rpc.js, XHR version)', () => {
  it('502 is a lost connection, even with a JSON body', () => {
    expect(classifyHttpAnswer({ status: 502, contentType: json, body: '{"result":[]}' })).toEqual({ kind: 'connection-lost' });
  });
  it('a body that is not JSON is a lost connection, whatever the status', () => {
    expect(classifyHttpAnswer({ status: 200, contentType: 'text/html', body: '<html>' })).toEqual({ kind: 'connection-lost' });
    expect(classifyHttpAnswer({ status: 503, contentType: 'text/plain', body: 'busy' })).toEqual({ kind: 'connection-lost' });
    expect(classifyHttpAnswer({ status: 200, contentType: json, body: '' })).toEqual({ kind: 'connection-lost' });
  });
  it('JSON with an error member is an RPCError, whatever the status', () => {
    const error = { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.UserError' } };
    expect(classifyHttpAnswer({ status: 200, contentType: json, body: JSON.stringify({ jsonrpc: '2.0', id: 1, error }) })).toEqual({ kind: 'rpc-error', error });
    expect(classifyHttpAnswer({ status: 500, contentType: json, body: JSON.stringify({ error }) })).toEqual({ kind: 'rpc-error', error });
  });
  it('any other JSON is a success with `result`, whatever the status', () => {
    expect(classifyHttpAnswer({ status: 200, contentType: json, body: '{"jsonrpc":"2.0","id":1,"result":[]}' })).toEqual({ kind: 'result', result: [] });
    expect(classifyHttpAnswer({ status: 503, contentType: json, body: '{"result":{"pos.order":[]}}' })).toEqual({ kind: 'result', result: { 'pos.order': [] } });
  });
  it("a gateway's 202 {status:'buffered'} resolves to undefined", () => {
    const body = JSON.stringify({ status: 'buffered', receipt: 'r1', idempotencyKey: 'k' });
    expect(classifyHttpAnswer({ status: 202, contentType: json, body })).toEqual({ kind: 'result', result: undefined });
  });
  it('a falsy error member does not make an error; the content type is not read', () => {
    expect(classifyHttpAnswer({ status: 200, contentType: undefined, body: '{"error":null,"result":5}' })).toEqual({ kind: 'result', result: 5 });
    expect(classifyHttpAnswer({ status: 200, contentType: 'text/html', body: '7' })).toEqual({ kind: 'result', result: undefined });
  });
  it('JSON null never settles in the real client: counted as a lost connection', () => {
    expect(classifyHttpAnswer({ status: 200, contentType: json, body: 'null' })).toEqual({ kind: 'connection-lost' });
  });
  it('a network error is a lost connection', () => {
    expect(networkFailure()).toEqual({ kind: 'connection-lost' });
  });
});
