// An order of two events with a voucher, through the package, against a
// real 3-node cluster (see cluster.ts).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  BookingService,
  HoldStatus,
  attemptOptions,
  errorMetadataOf,
  newIdempotencyKey,
  rawReasonOf,
  reasonOf,
  withRetry,
} from "../src/index.js";
import { createBookdTransport, type BookdTransport } from "../src/node.js";
import { startCluster, type TestCluster } from "./cluster.js";

describe("orders against a 3-node cluster", { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let transport: BookdTransport;
  /** Unique to this run, so that reruns against one cluster (BOOKD_ENDPOINTS) do not meet. */
  const run = `${process.pid}-${Date.now()}`;
  /** The refusal of an order naming a voucher used up, once the order test has made it. */
  let usedUp: unknown;

  before(async () => {
    cluster = await startCluster();
    transport = createBookdTransport({ endpoints: cluster.endpoints });
  });
  after(async () => {
    transport?.close();
    await cluster?.stop();
  });

  test("a two-event order with a voucher, priced and read back", async () => {
    const booking = createClient(BookingService, transport);
    // Adults at 5000 (the first 10 at 3000), children at 2500, in EUR.
    const categories = [
      { name: "adult", price: 5000n, currency: "EUR", tiers: [{ quantity: 10n, price: 3000n, name: "early bird" }] },
      { name: "child", price: 2500n },
    ];
    const day1 = (await booking.createEvent({ name: `Tour ${run}, day 1`, capacity: 20n, categories, timeZone: "Europe/Vienna" })).event;
    const day2 = (await booking.createEvent({ name: `Tour ${run}, day 2`, capacity: 20n, categories, timeZone: "Europe/Vienna" })).event;
    assert.ok(day1 && day2);
    assert.equal(day1.timeZone, "Europe/Vienna");
    // 10% off day 1's tickets, for one order.
    const code = `TS-${run}`;
    const { voucher } = await booking.createVoucher({
      voucher: { code, percentOff: 10, eventIds: [day1.id], maxRedemptions: 1n },
      idempotencyKey: newIdempotencyKey(),
    });
    assert.equal(voucher?.redeemed, 0n);

    const items = [
      { eventId: day1.id, category: "adult", quantity: 2n },
      { eventId: day2.id, category: "child", quantity: 1n },
    ];
    const { hold } = await withRetry((a) =>
      booking.hold({ customerId: `family-${run}`, items, voucherCode: code, idempotencyKey: a.idempotencyKey }, attemptOptions(a)),
    );
    assert.ok(hold);
    assert.equal(hold.status, HoldStatus.ACTIVE);
    // Two early-bird adults (6000, 10% off: 600) and a child on day 2 (2500, not covered).
    const priced = (h: typeof hold) => ({
      total: h.total,
      discount: h.discount,
      currency: h.currency,
      voucherCode: h.voucherCode,
      items: h.items.map((it) => ({
        eventId: it.eventId,
        category: it.category,
        quantity: it.quantity,
        prices: it.prices.map((p) => [p.tier, p.quantity, p.unitPrice]),
        amount: it.amount,
        discount: it.discount,
      })),
    });
    const want = {
      total: 7900n,
      discount: 600n,
      currency: "EUR",
      voucherCode: code,
      items: [
        { eventId: day1.id, category: "adult", quantity: 2n, prices: [[0, 2n, 3000n]], amount: 6000n, discount: 600n },
        { eventId: day2.id, category: "child", quantity: 1n, prices: [[0, 1n, 2500n]], amount: 2500n, discount: 0n },
      ],
    };
    assert.deepEqual(priced(hold), want);
    const { hold: read } = await booking.getHold({ holdId: hold.id });
    assert.ok(read);
    assert.deepEqual(priced(read), want, "the hold as read back");

    const { voucher: after } = await booking.getVoucher({ code });
    assert.equal(after?.redeemed, 1n);

    // The voucher was good for one order: the next is refused, and holds nothing.
    usedUp = await booking
      .hold({ customerId: `other-${run}`, items: [items[0]!], voucherCode: code, idempotencyKey: newIdempotencyKey() })
      .then(() => assert.fail("a second order redeemed a voucher good for one"), (e: unknown) => e);
    assert.ok(usedUp instanceof ConnectError);
    assert.equal(usedUp.code, Code.FailedPrecondition);
    assert.equal(rawReasonOf(usedUp), "VOUCHER_USED_UP");
    assert.equal(errorMetadataOf(usedUp)["limit"], "1");
    assert.match(usedUp.rawMessage, /^voucher_code: /);
    const avail = await booking.getAvailability({ eventId: day1.id });
    assert.equal(avail.categories.find((c) => c.name === "adult")?.held, 2n, "the refused order held nothing");
  });

  test("reasonOf names a VOUCHER_USED_UP refusal", () => {
    assert.ok(usedUp, "the order test ran");
    assert.equal(reasonOf(usedUp), "VOUCHER_USED_UP");
  });
});
