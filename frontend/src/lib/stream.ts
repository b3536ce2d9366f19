import type { StreamMessage } from "@/api/types";
import { wsUrl } from "./origin";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "unauthorized" | "closed";

export interface StreamOptions<T> {
  /** "/ws/decisions" etc. */
  path: string;
  onMessage: (message: StreamMessage<T>) => void;
  onState: (state: ConnectionState) => void;
  /** Read at every (re)connect, so a token entered later is used by the next attempt. */
  token?: () => string | null;
  /** Called when the server refuses the token (close code 1008). */
  onUnauthorized?: () => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Tests pass a fake; browsers use the global WebSocket. */
  WebSocketImpl?: typeof WebSocket;
  random?: () => number;
  /** Silence longer than this (no message, not even a heartbeat) means a dead link: reconnect. */
  silenceMs?: number;
}

export interface StreamHandle {
  close: () => void;
  /** Drop the socket and connect again at once (e.g. after a new token). */
  reconnect: () => void;
}

const POLICY_VIOLATION = 1008;

/**
 * One reconnecting WebSocket client for one stream: exponential backoff with jitter
 * (0.5 s, 1 s, 2 s ... capped at 10 s, reset once a connection opens), state reported on
 * every change. The server sends a snapshot first on every connect, so a reconnect needs no
 * bookkeeping here: the store replaces what it holds.
 */
export function openStream<T>(options: StreamOptions<T>): StreamHandle {
  const Impl = options.WebSocketImpl ?? WebSocket;
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 10_000;
  const random = options.random ?? Math.random;
  let socket: WebSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let attempt = 0;
  let closed = false;
  let watchdog: ReturnType<typeof setTimeout> | null = null;
  const silence = options.silenceMs ?? 40_000; // the server sends a heartbeat every 15 s

  const watch = (ws: WebSocket) => {
    if (watchdog !== null) clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      if (socket !== ws) return;
      // A half-open connection never fires `close`: drop it and connect again.
      socket = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close();
      options.onState("reconnecting");
      schedule();
    }, silence);
  };

  const connect = () => {
    timer = null;
    if (closed) return;
    options.onState(attempt === 0 ? "connecting" : "reconnecting");
    const ws = new Impl(wsUrl(options.path, { token: options.token?.() }));
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      attempt = 0;
      options.onState("open");
      watch(ws);
    };
    ws.onmessage = (event: MessageEvent) => {
      if (socket !== ws) return;
      watch(ws);
      let message: StreamMessage<T>;
      try {
        message = JSON.parse(String(event.data)) as StreamMessage<T>;
      } catch {
        return; // not ours to interpret; the next message will do
      }
      options.onMessage(message);
    };
    ws.onclose = (event: CloseEvent) => {
      if (socket !== ws) return;
      socket = null;
      if (closed) return;
      if (event.code === POLICY_VIOLATION) {
        options.onState("unauthorized");
        options.onUnauthorized?.();
      } else {
        options.onState("reconnecting");
      }
      schedule();
    };
    ws.onerror = () => {
      // a close event follows; reconnecting is handled there
    };
  };

  const schedule = () => {
    if (closed || timer !== null) return;
    const delay = Math.min(max, initial * 2 ** attempt);
    attempt += 1;
    timer = setTimeout(connect, delay * (0.75 + random() * 0.5));
  };

  const drop = () => {
    const ws = socket;
    socket = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close();
    }
    if (timer !== null) clearTimeout(timer);
    if (watchdog !== null) clearTimeout(watchdog);
    timer = null;
    watchdog = null;
  };

  connect();
  return {
    close: () => {
      closed = true;
      drop();
      options.onState("closed");
    },
    reconnect: () => {
      if (closed) return;
      drop();
      attempt = 0;
      connect();
    },
  };
}
