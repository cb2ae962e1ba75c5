// reasonOf and the other error readers, on errors as they arrive over the
// wire from an in-memory service.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import {
  BadRequestSchema,
  BookingService,
  ERROR_DOMAIN,
  ErrorInfoSchema,
  REASONS,
  errorInfoOf,
  errorMetadataOf,
  fieldViolationsOf,
  newIdempotencyKey,
  rawReasonOf,
  reasonOf,
  type Reason,
} from "../src/index.js";

/** received returns err as a client receives it from a Hold handler that throws it. */
async function received(err: ConnectError): Promise<unknown> {
  const transport = createRouterTransport(({ service }) => {
    service(BookingService, {
      hold() {
        throw err;
      },
    });
  });
  return createClient(BookingService, transport)
    .hold({})
    .then(() => assert.fail("succeeded"), (e: unknown) => e);
}

const info = (reason: string, metadata: Record<string, string> = {}, domain = ERROR_DOMAIN) => ({
  desc: ErrorInfoSchema,
  value: { reason, domain, metadata },
});

describe("reasonOf", () => {
  test("reads the ErrorInfo detail", async () => {
    const err = await received(
      new ConnectError("customer c may have at most 4 tickets", Code.FailedPrecondition, {}, [
        info("CUSTOMER_LIMIT", { customerId: "c", limit: "4", has: "4", asked: "1" }),
      ]),
    );
    assert.equal(reasonOf(err), "CUSTOMER_LIMIT");
    assert.deepEqual({ ...errorMetadataOf(err) }, { customerId: "c", limit: "4", has: "4", asked: "1" });
    assert.equal(errorInfoOf(err)?.domain, ERROR_DOMAIN);
  });

  test("reads the Bookd-Reason header when there are no details", async () => {
    const err = await received(new ConnectError("hold hd_9 expired", Code.FailedPrecondition, { "Bookd-Reason": "HOLD_EXPIRED" }));
    assert.equal(reasonOf(err), "HOLD_EXPIRED");
    assert.deepEqual(errorMetadataOf(err), {});
  });

  test("gives no reason for a refusal without one, nor for another domain's", async () => {
    const notFound = await received(new ConnectError("no event ev_404", Code.NotFound, {}, [info("NOT_FOUND", { eventId: "ev_404" })]));
    assert.equal(reasonOf(notFound), undefined);
    assert.equal(errorMetadataOf(notFound)["eventId"], "ev_404");
    const foreign = await received(new ConnectError("x", Code.FailedPrecondition, {}, [info("SOLD_OUT", {}, "example.com")]));
    assert.equal(reasonOf(foreign), undefined);
    assert.equal(reasonOf(new Error("SEAT_TAKEN")), undefined);
  });

  test("a reason newer than the package is only a raw reason", async () => {
    const err = await received(new ConnectError("x", Code.FailedPrecondition, {}, [info("SOMETHING_NEW")]));
    assert.equal(reasonOf(err), undefined);
    assert.equal(rawReasonOf(err), "SOMETHING_NEW");
  });

  test("covers every reason in a switch the compiler checks", () => {
    const shopperMessage = (r: Reason): string => {
      switch (r) {
        case "SEAT_TAKEN":
        case "SOLD_OUT":
        case "UNKNOWN_SEAT":
        case "SEAT_BLOCKED":
          return "pick other seats";
        case "HOLD_EXPIRED":
        case "HOLD_RELEASED":
        case "HOLD_CAP":
          return "your hold ran out";
        case "HOLD_LIMIT":
        case "CUSTOMER_LIMIT":
          return "too many tickets";
        case "EVENT_CLOSED":
        case "EVENT_CANCELLED":
          return "no longer on sale";
        case "ADMISSION_INVALID":
        case "ADMISSION_EXPIRED":
        case "ADMISSION_SPENT":
        case "ADMISSION_REQUIRED":
          return "back to the waiting room";
        case "HOLD_CONFIRMED":
        case "BOOKING_CANCELLED":
        case "IDEMPOTENCY_KEY_REUSED":
        case "AVAILABLE":
        case "NOT_WAITING":
        case "UNKNOWN_CATEGORY":
        case "CURRENCY_MISMATCH":
        case "VOUCHER_UNKNOWN":
        case "VOUCHER_NOT_VALID":
        case "VOUCHER_USED_UP":
          return "check your order";
        case "QUEUE_EXISTS":
        case "QUEUE_LIMIT":
        case "VOUCHER_EXISTS":
        case "ITEM_CANCELLED":
          return "something else";
        default: {
          const unhandled: never = r;
          return unhandled;
        }
      }
    };
    assert.equal(new Set(REASONS.map(shopperMessage)).size, 7);
  });
});

describe("fieldViolationsOf", () => {
  test("names the fields of an INVALID_ARGUMENT", async () => {
    const err = await received(
      new ConnectError("seats[2]: empty", Code.InvalidArgument, {}, [
        info("INVALID_ARGUMENT"),
        { desc: BadRequestSchema, value: { fieldViolations: [{ field: "seats[2]", description: "empty" }] } },
      ]),
    );
    assert.deepEqual(
      fieldViolationsOf(err).map((v) => [v.field, v.description]),
      [["seats[2]", "empty"]],
    );
    assert.equal(reasonOf(err), undefined);
  });
});

describe("newIdempotencyKey", () => {
  test("is 128 bits of hex that start with the time in milliseconds", () => {
    const before = Date.now();
    const keys = Array.from({ length: 1000 }, newIdempotencyKey);
    const afterMs = Date.now();
    assert.equal(new Set(keys).size, keys.length, "no two alike");
    for (const k of keys) {
      assert.match(k, /^[0-9a-f]{32}$/);
      const ms = parseInt(k.slice(0, 12), 16);
      assert.ok(ms >= before && ms <= afterMs, `key ${k} says ${ms}, made between ${before} and ${afterMs}`);
    }
  });
});
