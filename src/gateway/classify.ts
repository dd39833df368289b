// Route classification: the first route whose match fits the request wins.
// Pure: the ingress gathers the facts, this decides.
import { compilePathPattern } from '../../edge-config/path-pattern.js';
import type { RouteConfig, RouteMatch } from '../../edge-config/schema.js';
import type { JsonRpcCall } from './jsonrpc.js';

export interface RequestFacts {
  /** Upper-case method. */
  method: string;
  /** Percent-decoded path without query, already checked by request-target. */
  path: string;
  /** Lower-case host without port; '' when the request had none. */
  host: string;
  /** Present for JSON-RPC requests whose body was read. */
  jsonrpc?: JsonRpcCall | undefined;
}

type Predicate = (f: RequestFacts) => boolean;

function hostPredicate(pattern: string): Predicate {
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) {
    const suffix = p.slice(1);
    return (f) => f.host.endsWith(suffix) && f.host.length > suffix.length;
  }
  return (f) => f.host === p;
}

function compileMatch(match: RouteMatch): Predicate {
  const tests: Predicate[] = [];
  if (match.method !== undefined) {
    const methods = new Set((Array.isArray(match.method) ? match.method : [match.method]).map((m) => m.toUpperCase()));
    tests.push((f) => methods.has(f.method));
  }
  if (match.path !== undefined) {
    const re = compilePathPattern(match.path);
    tests.push((f) => re.test(f.path));
  }
  if (match.host !== undefined) tests.push(hostPredicate(match.host));
  if (match.jsonrpc !== undefined) {
    const { model, method } = match.jsonrpc;
    tests.push((f) => f.jsonrpc !== undefined && (model === undefined || f.jsonrpc.model === model) && (method === undefined || f.jsonrpc.method === method));
  }
  return (f) => tests.every((t) => t(f));
}

export interface RouteTable<R = RouteConfig> {
  /** The first route that matches, or undefined (the caller answers 404 no_route). */
  classify(facts: RequestFacts): R | undefined;
}

export function compileRoutes<R extends Pick<RouteConfig, 'match'>>(routes: readonly R[]): RouteTable<R> {
  const compiled = routes.map((route) => ({ route, test: compileMatch(route.match) }));
  return {
    classify(facts) {
      return compiled.find((c) => c.test(facts))?.route;
    },
  };
}
