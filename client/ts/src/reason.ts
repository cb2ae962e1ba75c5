import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  type BadRequest_FieldViolation,
  type ErrorInfo,
} from "./gen/google/rpc/error_details_pb.js";

/** ERROR_DOMAIN is the google.rpc.ErrorInfo domain of bookd's refusals. */
export const ERROR_DOMAIN = "bookd.dev";

/**
 * REASON_HEADER names the response header (a trailer under gRPC) that
 * carries a refusal's reason, for clients that read no error details.
 */
export const REASON_HEADER = "Bookd-Reason";

/**
 * REASONS lists every reason a node or edge gives for refusing a call, as
 * fsm/errors.go, fsm/queues.go and rpc/edge name them.
 */
export const REASONS = [
  "SEAT_TAKEN",
  "SOLD_OUT",
  "HOLD_EXPIRED",
  "HOLD_RELEASED",
  "HOLD_CONFIRMED",
  "BOOKING_CANCELLED",
  "UNKNOWN_SEAT",
  "IDEMPOTENCY_KEY_REUSED",
  "SEAT_BLOCKED", // the seat exists but is not for sale
  "EVENT_CLOSED", // sales of the event were stopped
  "EVENT_CANCELLED", // the event was cancelled
  "HOLD_LIMIT", // more tickets than one hold may take
  "CUSTOMER_LIMIT", // more tickets than one customer may have
  "HOLD_CAP", // ExtendHold past the hold's maxExpiresAt
  "AVAILABLE", // JoinWaitlist for an event that is not sold out
  "NOT_WAITING", // LeaveWaitlist for an entry no longer waiting
  "ADMISSION_INVALID", // a waiting room's token for another event or customer
  "ADMISSION_EXPIRED",
  "ADMISSION_SPENT",
  "ADMISSION_REQUIRED", // an edge's room admits no hold without a token
  "QUEUE_EXISTS",
  "QUEUE_LIMIT",
  "UNKNOWN_CATEGORY", // the event has no such category, or needs one named
  "CURRENCY_MISMATCH", // an order's items, or its voucher, in different currencies
  "VOUCHER_UNKNOWN", // no such voucher (an edge answers VOUCHER_NOT_VALID)
  "VOUCHER_NOT_VALID", // outside its window, or for none of the order's events
  "VOUCHER_USED_UP", // redeemed its max_redemptions times
  "VOUCHER_EXISTS", // CreateVoucher with a code taken
  "ITEM_CANCELLED", // CancelBooking of an item cancelled already
] as const;

/**
 * Reason is why bookd refused a call: a switch over it is checked by the
 * compiler.
 */
export type Reason = (typeof REASONS)[number];

const known: ReadonlySet<string> = new Set(REASONS);

/** isReason reports whether s is a Reason this package knows. */
export function isReason(s: string): s is Reason {
  return known.has(s);
}

/**
 * errorInfoOf returns the google.rpc.ErrorInfo in bookd's domain that err
 * carries, or undefined (err is not a ConnectError, or came from a server
 * that sends no details). Its metadata names what the refusal is about:
 * eventId, seat, holdId, limit, ...
 */
export function errorInfoOf(err: unknown): ErrorInfo | undefined {
  if (!(err instanceof ConnectError)) {
    return undefined;
  }
  return err.findDetails(ErrorInfoSchema).find((info) => info.domain === ERROR_DOMAIN);
}

/**
 * rawReasonOf returns the reason err carries, known to this package or
 * not: from its ErrorInfo detail, else from its Bookd-Reason header or
 * trailer. A refusal without a bookd reason (a plain NOT_FOUND) has an
 * ErrorInfo whose reason is the code's name: rawReasonOf returns undefined
 * for it.
 */
export function rawReasonOf(err: unknown): string | undefined {
  if (!(err instanceof ConnectError)) {
    return undefined;
  }
  const info = errorInfoOf(err);
  if (info !== undefined && info.reason !== "" && info.reason !== codeName(err.code)) {
    return info.reason;
  }
  return err.metadata.get(REASON_HEADER) ?? undefined;
}

/**
 * reasonOf returns why bookd refused the call that threw err, or undefined
 * when err is not such a refusal. A reason newer than this package also
 * gives undefined; rawReasonOf returns it as a string.
 */
export function reasonOf(err: unknown): Reason | undefined {
  const r = rawReasonOf(err);
  return r !== undefined && isReason(r) ? r : undefined;
}

/**
 * errorMetadataOf returns what a refusal is about, from its ErrorInfo:
 * keys such as eventId, seat, holdId, limit, has, asked. It is empty when
 * the server sent none (a refusal replayed for a retried idempotency key
 * keeps code, reason and message only).
 */
export function errorMetadataOf(err: unknown): Readonly<Record<string, string>> {
  return errorInfoOf(err)?.metadata ?? {};
}

/**
 * fieldViolationsOf returns the fields an INVALID_ARGUMENT refused, from
 * its google.rpc.BadRequest detail: field paths as in proto ("seats[2]",
 * "ttl").
 */
export function fieldViolationsOf(err: unknown): BadRequest_FieldViolation[] {
  if (!(err instanceof ConnectError)) {
    return [];
  }
  return err.findDetails(BadRequestSchema).flatMap((br) => br.fieldViolations);
}

/** codeName is a Connect code as the server names it in ErrorInfo: "NOT_FOUND". */
function codeName(code: Code): string {
  return (Code[code] ?? "").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
