// Takes a seat-taken refusal apart, as a booking frontend would: run
// `npm run example:seat-taken` with `make cluster` running (or
// BOOKD_ENDPOINTS naming another cluster).
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { BookingService, ErrorInfoSchema, newIdempotencyKey, reasonOf } from "../src/index.js";
import { createBookdTransport } from "../src/node.js";

const transport = createBookdTransport();
const booking = createClient(BookingService, transport);
try {
  const { event } = await booking.createEvent({ name: "Opening night", seats: ["A1", "A2"] });
  const eventId = event?.id ?? "";
  await booking.hold({ eventId, customerId: "alice", seats: ["A1"], idempotencyKey: newIdempotencyKey() });
  await booking.hold({ eventId, customerId: "bob", seats: ["A1", "A2"], idempotencyKey: newIdempotencyKey() });
  console.log("bob got A1: that should not happen");
  process.exitCode = 1;
} catch (err) {
  if (!(err instanceof ConnectError) || err.code !== Code.FailedPrecondition) {
    throw err;
  }
  console.log(`code:    ${Code[err.code]}`);
  console.log(`message: ${err.rawMessage}`);
  console.log(`reason:  ${reasonOf(err) ?? "(none)"}`);
  for (const info of err.findDetails(ErrorInfoSchema)) {
    console.log(`ErrorInfo: reason ${info.reason}, domain ${info.domain}, metadata ${JSON.stringify(info.metadata)}`);
  }
} finally {
  transport.close();
}
