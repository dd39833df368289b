// Odoo's longpolling bus over /websocket, as far as the POS uses it: a client
// subscribes to channels, and the ERP pushes notifications to every socket
// subscribed to the channel they are sent on.
//
// Modelled on bus/models/bus.py (16.0-19.0) and bus/websocket.py: _sendmany
// stores each notification's message as {"type": notification_type,
// "payload": message}, _poll answers [{"id": notif.id, "message": {...}}], and
// the websocket sends such a list as one text frame. A subscribe event
// ({"event_name": "subscribe", "data": {"channels": [...], "last": n}})
// replaces the socket's channels and sends what it missed: notifications
// with an id above `last`, or with last 0 those of the last TIMEOUT (50 s).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { isObject } from './odoo-rpc.js';

export interface BusNotification {
  id: number;
  message: { type: string; payload: unknown };
}

/** bus.bus TIMEOUT: how far back a subscribe with last 0 is answered. */
const REPLAY_MS = 50_000;

/** Odoo channels are strings or [model, id, ...] lists; a subscription compares them by their JSON. */
const channelKey = (c: unknown): string => (typeof c === 'string' ? c : JSON.stringify(c));

export class Bus {
  #wss = new WebSocketServer({ noServer: true });
  #subscriptions = new Map<WebSocket, Set<string>>();
  #log: { at: number; channel: string; notification: BusNotification }[] = [];
  #lastId = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Completes a websocket upgrade the simulator has decided to serve. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#subscriptions.set(ws, new Set());
      ws.on('message', (data) => this.#onMessage(ws, data));
      ws.on('close', () => this.#subscriptions.delete(ws));
      ws.on('error', () => ws.terminate());
    });
  }

  notify(channel: string, type: string, payload: unknown): BusNotification {
    const notification: BusNotification = { id: ++this.#lastId, message: { type, payload } };
    const at = this.now();
    this.#log = [...this.#log.filter((e) => at - e.at <= REPLAY_MS), { at, channel, notification }];
    for (const [ws, channels] of this.#subscriptions) if (channels.has(channel)) ws.send(JSON.stringify([notification]));
    return notification;
  }

  /** Open bus sockets. */
  connections(): number {
    return this.#subscriptions.size;
  }

  /** Forgets past notifications; ids keep counting up, so a client's `last` never hides a new one. */
  reset(): void {
    this.#log = [];
  }

  close(): void {
    for (const ws of this.#subscriptions.keys()) ws.terminate();
    this.#subscriptions.clear();
    this.#wss.close();
  }

  #onMessage(ws: WebSocket, data: RawData): void {
    let event: unknown;
    try {
      event = JSON.parse(data.toString());
    } catch {
      return;
    }
    // Other events (update_presence, ...) change nothing the simulator models.
    if (!isObject(event) || event.event_name !== 'subscribe' || !isObject(event.data)) return;
    const channels = new Set(Array.isArray(event.data.channels) ? event.data.channels.map(channelKey) : []);
    this.#subscriptions.set(ws, channels);
    const last = typeof event.data.last === 'number' ? event.data.last : 0;
    const since = this.now() - REPLAY_MS;
    const missed = this.#log.filter((e) => channels.has(e.channel) && (last > 0 ? e.notification.id > last : e.at >= since)).map((e) => e.notification);
    if (missed.length > 0) ws.send(JSON.stringify(missed));
  }
}
