import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openStream, type ConnectionState } from "./stream";
import { FakeSocket } from "@/test/fake-socket";

describe("the stream client", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.reset();
  });
  afterEach(() => vi.useRealTimers());

  function open(path = "/ws/decisions", token: string | null = null) {
    const states: ConnectionState[] = [];
    const messages: unknown[] = [];
    const handle = openStream({
      path,
      onMessage: (m) => messages.push(m),
      onState: (s) => states.push(s),
      token: () => token,
      WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
      random: () => 0.5,
    });
    return { handle, states, messages };
  }

  it("reports connecting then open, and hands over parsed messages", () => {
    const { states, messages } = open();
    FakeSocket.last().open();
    FakeSocket.last().receive({ type: "update", topic: "decisions", agent: "a", data: [] });
    expect(states).toEqual(["connecting", "open"]);
    expect(messages).toEqual([{ type: "update", topic: "decisions", agent: "a", data: [] }]);
  });

  it("reconnects with growing delays after drops: 0.5 s, then 1 s", () => {
    const { states } = open();
    FakeSocket.last().drop();
    expect(FakeSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(499);
    expect(FakeSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.last().drop();
    vi.advanceTimersByTime(999);
    expect(FakeSocket.instances).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.instances).toHaveLength(3);
    expect(states.at(-1)).toBe("reconnecting");
  });

  it("resets the backoff once a connection opens", () => {
    open();
    FakeSocket.last().drop();
    vi.advanceTimersByTime(500);
    FakeSocket.last().drop();
    vi.advanceTimersByTime(1000);
    FakeSocket.last().open();
    FakeSocket.last().drop();
    vi.advanceTimersByTime(500);
    expect(FakeSocket.instances).toHaveLength(4);
  });

  it("sends the token as a query parameter, and reports a refused token", () => {
    const { states } = open("/ws/account", "s3cret");
    expect(FakeSocket.last().url).toContain("/ws/account?token=s3cret");
    FakeSocket.last().drop(1008);
    expect(states.at(-1)).toBe("unauthorized");
  });

  it("drops a connection that went silent (no heartbeat) and connects again", () => {
    const { states } = open();
    FakeSocket.last().open();
    vi.advanceTimersByTime(30_000);
    FakeSocket.last().receive({ type: "heartbeat" });
    vi.advanceTimersByTime(39_999);
    expect(FakeSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.instances[0]?.closed).toBe(true);
    expect(states.at(-1)).toBe("reconnecting");
    vi.advanceTimersByTime(500);
    expect(FakeSocket.instances).toHaveLength(2);
  });

  it("stops for good when closed", () => {
    const { handle, states } = open();
    handle.close();
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(states.at(-1)).toBe("closed");
  });
});
