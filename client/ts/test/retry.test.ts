// withRetry and retryAfterMs against an in-memory BookingService.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import {
  BookingService,
  ErrorInfoSchema,
  FIRST_ATTEMPT_HEADER,
  RETRY_AFTER_MS_HEADER,
  RetryInfoSchema,
  attemptOptions,
  newIdempotencyKey,
  reasonOf,
  retryAfterMs,
  withRetry,
  type HoldRequest,
} from "../src/index.js";

/**
 * fakeHold is a BookingService whose Hold answers the i-th call with
 * answers[i] (an error to throw, or undefined for a hold named after the
 * call's key), recording each call.
 */
function fakeHold(answers: (ConnectError | undefined)[]) {
  const calls: { key: string; first: string | null }[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(BookingService, {
      hold(req: HoldRequest, ctx) {
        calls.push({ key: req.idempotencyKey, first: ctx.requestHeader.get(FIRST_ATTEMPT_HEADER) });
        const answer = answers[calls.length - 1];
        if (answer) {
          throw answer;
        }
        return { hold: { id: `hd_${req.idempotencyKey}`, eventId: req.eventId } };
      },
    });
  });
  return { calls, booking: createClient(BookingService, transport) };
}

/** shed is a RESOURCE_EXHAUSTED refusal with the headers and RetryInfo given. */
function shed(headers: Record<string, string>, retryDelayMs?: number): ConnectError {
  const details =
    retryDelayMs === undefined
      ? []
      : [{
          desc: RetryInfoSchema,
          value: { retryDelay: { seconds: BigInt(Math.floor(retryDelayMs / 1000)), nanos: (retryDelayMs % 1000) * 1e6 } },
        }];
  return new ConnectError("overloaded", Code.ResourceExhausted, headers, details);
}

describe("withRetry", () => {
  test("waits what a shedding node asks for and sends the same key every time, marking only the first", async () => {
    const { calls, booking } = fakeHold([
      shed({ [RETRY_AFTER_MS_HEADER]: "9" }, 1500), // RetryInfo wins over the header
      shed({ [RETRY_AFTER_MS_HEADER]: "700", "Retry-After": "1" }),
      shed({ "Retry-After": "2" }),
      new ConnectError("no leader", Code.Unavailable),
    ]);
    const waits: number[] = [];
    const res = await withRetry(
      (a) => booking.hold({ eventId: "ev_1", quantity: 1n, idempotencyKey: a.idempotencyKey }, attemptOptions(a)),
      { backoffInitialMs: 1, backoffMaxMs: 1, sleep: async (ms) => void waits.push(ms) },
    );
    assert.equal(calls.length, 5);
    assert.deepEqual(waits.slice(0, 3), [1500, 700, 2000]);
    assert.ok(waits[3]! <= 1, `an unavailable node's backoff ${waits[3]} ms is the policy's`);
    const key = calls[0]!.key;
    assert.match(key, /^[0-9a-f]{32}$/);
    assert.deepEqual(calls.map((c) => c.key), Array(5).fill(key));
    assert.deepEqual(calls.map((c) => c.first), ["1", null, null, null, null]);
    assert.equal(res.hold?.id, `hd_${key}`);
  });

  test("throws a refusal at once", async () => {
    const { calls, booking } = fakeHold([
      new ConnectError("seat A1 of event ev_1 is taken", Code.FailedPrecondition, { "Bookd-Reason": "SEAT_TAKEN" }),
    ]);
    const err = await withRetry((a) => booking.hold({ eventId: "ev_1", seats: ["A1"], idempotencyKey: a.idempotencyKey }))
      .then(() => assert.fail("succeeded"), (e: unknown) => e);
    assert.equal(calls.length, 1);
    assert.equal(ConnectError.from(err).code, Code.FailedPrecondition);
    assert.equal(reasonOf(err), "SEAT_TAKEN");
  });

  test("keeps a key the caller gives, never marks it first, and names it when it gives up", async () => {
    const unavailable = () =>
      new ConnectError("no leader", Code.Unavailable, { "Bookd-Reason": "NO_LEADER_TEST" }, [
        { desc: ErrorInfoSchema, value: { reason: "SOLD_OUT", domain: "bookd.dev" } },
      ]);
    const { calls, booking } = fakeHold([unavailable(), unavailable(), unavailable()]);
    const key = newIdempotencyKey();
    const err = await withRetry(
      (a) => booking.hold({ eventId: "ev_1", quantity: 1n, idempotencyKey: a.idempotencyKey }, attemptOptions(a)),
      { idempotencyKey: key, maxAttempts: 3, sleep: async () => {} },
    ).then(() => assert.fail("succeeded"), (e: unknown) => e);
    assert.deepEqual(calls, Array(3).fill({ key, first: null }));
    assert.ok(err instanceof ConnectError);
    assert.equal(err.code, Code.Unavailable);
    assert.match(err.message, new RegExp(`gave up after 3 attempts .*"${key}"`));
    assert.equal(err.metadata.get("Bookd-Reason"), "NO_LEADER_TEST", "the last error's metadata is kept");
    assert.equal(err.findDetails(ErrorInfoSchema)[0]?.reason, "SOLD_OUT", "and its details");
  });

  test("stops when the caller aborts while it waits", async () => {
    const { calls, booking } = fakeHold([new ConnectError("no leader", Code.Unavailable)]);
    const ctl = new AbortController();
    const err = await withRetry((a) => booking.hold({ eventId: "ev_1", quantity: 1n, idempotencyKey: a.idempotencyKey }, attemptOptions(a)), {
      signal: ctl.signal,
      sleep: async () => ctl.abort(new Error("the shopper left")),
    }).then(() => assert.fail("succeeded"), (e: unknown) => e);
    assert.equal(calls.length, 1);
    assert.equal((err as Error).message, "the shopper left");
  });
});

describe("retryAfterMs", () => {
  test("reads only RESOURCE_EXHAUSTED refusals, and only well-formed hints", () => {
    assert.equal(retryAfterMs(shed({ [RETRY_AFTER_MS_HEADER]: "250" })), 250);
    assert.equal(retryAfterMs(shed({}, 1234)), 1234);
    assert.equal(retryAfterMs(shed({ [RETRY_AFTER_MS_HEADER]: "-5", "Retry-After": "3" })), 3000);
    assert.equal(retryAfterMs(shed({ "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT" })), undefined);
    assert.equal(retryAfterMs(new ConnectError("x", Code.Unavailable, { [RETRY_AFTER_MS_HEADER]: "250" })), undefined);
    assert.equal(retryAfterMs(new Error("not a ConnectError")), undefined);
  });
});
