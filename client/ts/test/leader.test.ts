// The leader-routing transport against in-memory nodes that report a
// leader as bookd's nodes do.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import {
  BookingService,
  Consistency,
  LEADER_HEADER,
  createLeaderRoutingTransport,
  parseEndpoint,
} from "../src/index.js";

/**
 * fakeCluster makes in-memory nodes a:1, b:2, c:3; each names `leader` in
 * Bookd-Leader, and a node in `down` answers UNAVAILABLE. served lists the
 * node that answered each call.
 */
function fakeCluster() {
  const state = { leader: "b:2", down: new Set<string>() };
  const served: string[] = [];
  const transport = createLeaderRoutingTransport({
    endpoints: ["a:1", "http://b:2", "a:1", "c:3"],
    transportFor(baseUrl, interceptors) {
      const node = new URL(baseUrl).host;
      const answer = <T>(ctx: { responseHeader: Headers }, res: T): T => {
        served.push(node);
        if (state.down.has(node)) {
          throw new ConnectError("no leader", Code.Unavailable);
        }
        ctx.responseHeader.set(LEADER_HEADER, state.leader);
        return res;
      };
      return createRouterTransport(
        ({ service }) => {
          service(BookingService, {
            hold: (_req, ctx) => answer(ctx, {}),
            getAvailability: (_req, ctx) => answer(ctx, {}),
          });
        },
        { transport: { baseUrl, interceptors } },
      );
    },
  });
  return { state, served, transport, booking: createClient(BookingService, transport) };
}

describe("createLeaderRoutingTransport", () => {
  test("sends writes and linearizable reads to the leader once named, stale reads to the current endpoint", async () => {
    const { served, transport, booking } = fakeCluster();
    assert.deepEqual(transport.endpoints, ["http://a:1", "http://b:2", "http://c:3"]);
    await booking.getAvailability({ eventId: "ev_1" });
    assert.equal(transport.leader(), "http://b:2");
    await booking.hold({ eventId: "ev_1" });
    await booking.getAvailability({ eventId: "ev_1" });
    await booking.getAvailability({ eventId: "ev_1", read: { consistency: Consistency.STALE } });
    assert.deepEqual(served, ["a:1", "b:2", "b:2", "a:1"]);
  });

  test("forgets a leader that answers UNAVAILABLE, and passes over a current endpoint that does", async () => {
    const { state, served, transport, booking } = fakeCluster();
    const unavailable = (e: unknown) => ConnectError.from(e).code === Code.Unavailable;
    await booking.hold({ eventId: "ev_1" }); // to a, which names b
    state.down.add("b:2");
    await assert.rejects(booking.hold({ eventId: "ev_1" }), unavailable); // to b
    assert.equal(transport.leader(), undefined);
    state.down.add("a:1");
    state.leader = "c:3";
    await assert.rejects(booking.hold({ eventId: "ev_1" }), unavailable); // to a, the current endpoint
    await assert.rejects(booking.hold({ eventId: "ev_1" }), unavailable); // to b, the next
    await booking.hold({ eventId: "ev_1" }); // to c, which names itself
    assert.equal(transport.leader(), "http://c:3");
    state.down.clear();
    await booking.hold({ eventId: "ev_1" });
    assert.deepEqual(served, ["a:1", "b:2", "a:1", "b:2", "c:3", "c:3"]);
  });
});

describe("parseEndpoint", () => {
  test("takes host:port and http(s) base URLs only", () => {
    assert.equal(parseEndpoint(" 127.0.0.1:8001 "), "http://127.0.0.1:8001");
    assert.equal(parseEndpoint("https://node1.example:8443/"), "https://node1.example:8443");
    assert.equal(parseEndpoint("[::1]:8001"), "http://[::1]:8001");
    for (const bad of ["", "localhost", "ftp://h:1", "http://h:1/api", "http://u:p@h:1", "h:1?x=1"]) {
      assert.throws(() => parseEndpoint(bad), /bookd: /, `"${bad}"`);
    }
  });
});
