import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "./gen/google/rpc/error_details_pb.js";

/**
 * RETRY_AFTER_MS_HEADER carries, on a RESOURCE_EXHAUSTED refusal from a
 * node or an edge, how many milliseconds to wait before trying again. The
 * standard Retry-After header has the same wait in whole seconds.
 */
export const RETRY_AFTER_MS_HEADER = "Bookd-Retry-After-Ms";

/**
 * retryAfterMs returns the wait, in milliseconds, that a node or edge asked
 * for when it refused a call as overloaded (RESOURCE_EXHAUSTED): from its
 * google.rpc.RetryInfo detail, else its Bookd-Retry-After-Ms header, else
 * its Retry-After header (seconds). It returns undefined when err carries
 * no such hint.
 */
export function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof ConnectError) || err.code !== Code.ResourceExhausted) {
    return undefined;
  }
  for (const ri of err.findDetails(RetryInfoSchema)) {
    const d = ri.retryDelay;
    if (d !== undefined && d.seconds >= 0n && d.nanos >= 0) {
      return Number(d.seconds) * 1000 + Math.ceil(d.nanos / 1e6);
    }
  }
  const ms = wholeNumber(err.metadata.get(RETRY_AFTER_MS_HEADER));
  if (ms !== undefined) {
    return ms;
  }
  const s = wholeNumber(err.metadata.get("Retry-After"));
  return s === undefined ? undefined : s * 1000;
}

/** wholeNumber parses a header of decimal digits, or gives undefined. */
function wholeNumber(v: string | null): number | undefined {
  return v !== null && /^[0-9]{1,15}$/.test(v.trim()) ? Number(v.trim()) : undefined;
}
