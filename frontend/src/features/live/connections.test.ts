import { FakeSocket } from "@/test/fake-socket";
import { decision, status, stubFetch } from "@/test/fixtures";
import { useAuthStore } from "@/lib/auth";
import { useDecisionsStore } from "@/features/decisions/store";
import { useStatusStore } from "@/features/status/store";
import { startLive } from "./connections";

describe("the live connections", () => {
  beforeEach(() => FakeSocket.reset());

  it("opens one client per stream and routes each stream to its store", async () => {
    stubFetch({ "/api/status": status(), "/api/decisions": { items: [], next_before_id: null } });
    const stop = startLive(FakeSocket as unknown as typeof WebSocket);
    const paths = FakeSocket.instances.map((s) => new URL(s.url).pathname).sort();
    expect(paths).toEqual(["/ws/account", "/ws/decisions", "/ws/market", "/ws/positions", "/ws/status"]);
    const decisions = FakeSocket.instances.find((s) => s.url.includes("/ws/decisions"))!;
    decisions.open();
    decisions.receive({ type: "update", topic: "decisions", agent: "trend", data: [decision({ id: 77 })] });
    expect(useDecisionsStore.getState().ids).toContain(77);
    expect(useDecisionsStore.getState().connection).toBe("open");
    await waitFor(() => useStatusStore.getState().names.length === 2);
    stop();
    expect(useDecisionsStore.getState().connection).toBe("closed");
  });

  it("reconnects every stream with a newly entered token", () => {
    stubFetch({});
    const stop = startLive(FakeSocket as unknown as typeof WebSocket);
    useAuthStore.getState().setToken("s3cret");
    const withToken = FakeSocket.instances.filter((s) => s.url.includes("token=s3cret"));
    expect(withToken).toHaveLength(5);
    stop();
  });
});

async function waitFor(condition: () => boolean) {
  for (let i = 0; i < 50 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}
