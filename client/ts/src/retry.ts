import type { CallOptions } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { newIdempotencyKey } from "./idempotency.js";
import { retryAfterMs } from "./retryafter.js";

/**
 * FIRST_ATTEMPT_HEADER marks a Hold or Book call as the first sending of
 * its idempotency key: no request with that key can have reached a node
 * before, so the leader may refuse a claim of sold inventory without
 * writing the refusal to the Raft log. Its value is "1". Sent on a retry it
 * only misleads the caller (the earlier attempt may still be applied after
 * the refusal); the cluster's state is never at risk.
 */
export const FIRST_ATTEMPT_HEADER = "Bookd-First-Attempt";

/** Attempt is one sending of a user action's call, as withRetry makes it. */
export interface Attempt {
  /** The action's idempotency key: the same on every attempt. */
  readonly idempotencyKey: string;
  /** 1 for the first attempt, then 2, 3, ... */
  readonly number: number;
  /**
   * True on the first attempt of a key withRetry made itself: no call
   * with this key can have reached a node before.
   */
  readonly first: boolean;
  /** The caller's signal: pass it on so that an abort stops the attempt. */
  readonly signal: AbortSignal | undefined;
}

/**
 * attemptOptions returns the CallOptions for an attempt: the caller's
 * signal, the headers given, and on a first attempt the
 * `Bookd-First-Attempt: 1` header (Hold and Book read it; other methods
 * ignore it).
 */
export function attemptOptions(attempt: Attempt, options: CallOptions = {}): CallOptions {
  const headers = new Headers(options.headers);
  if (attempt.first) {
    headers.set(FIRST_ATTEMPT_HEADER, "1");
  }
  return { ...options, headers, signal: options.signal ?? attempt.signal };
}

/** RetryOptions tune withRetry. */
export interface RetryOptions {
  /**
   * The action's idempotency key, when the caller keeps one already (to
   * let a person press "try again" after withRetry gave up). Without it,
   * withRetry makes one with newIdempotencyKey and marks the first attempt.
   */
  idempotencyKey?: string;
  /** Attempts in all, the first included (default 8). */
  maxAttempts?: number;
  /** Wait before the first retry, doubled on each (default 50 ms). */
  backoffInitialMs?: number;
  /** Longest wait between attempts, a server's retry-after hint aside (default 2,000 ms). */
  backoffMaxMs?: number;
  /** Stops the retries (and, passed on by the attempt, the call in flight). */
  signal?: AbortSignal;
  /** Waits ms or until signal aborts; tests give their own. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

/**
 * withRetry runs one user action's call, and while it fails in a way that
 * leaves its outcome unknown or asks for a retry, runs it again with the
 * same idempotency key: the cluster applies the action once, and a retry
 * of an action that was applied returns the first result.
 *
 * It retries UNAVAILABLE (no leader or quorum, a node that cannot be
 * reached), DEADLINE_EXCEEDED and CANCELED while the caller's signal is
 * live (a broken connection), and RESOURCE_EXHAUSTED (a node or edge
 * shedding load), waiting at least the retry-after the server asked for
 * (retryAfterMs). Every other error, a refusal such as SEAT_TAKEN among
 * them, is thrown at once. Between attempts it backs off exponentially with
 * jitter, as the Go client does.
 *
 * When the attempts run out it throws the last error, its message naming
 * the key with which a later retry is safe; reasonOf and findDetails read
 * it as they read the original.
 *
 *     const hold = await withRetry((a) =>
 *       booking.hold({ eventId, customerId, seats, idempotencyKey: a.idempotencyKey }, attemptOptions(a)));
 */
export async function withRetry<T>(call: (attempt: Attempt) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 8;
  const initial = options.backoffInitialMs ?? 50;
  const cap = options.backoffMaxMs ?? 2000;
  if (!(maxAttempts >= 1) || !(initial >= 0) || !(cap >= initial)) {
    throw new RangeError(`withRetry: maxAttempts ${maxAttempts} or backoff ${initial}..${cap} ms out of range`);
  }
  const sleep = options.sleep ?? abortableSleep;
  const signal = options.signal;
  const fresh = options.idempotencyKey === undefined || options.idempotencyKey === "";
  const idempotencyKey = fresh ? newIdempotencyKey() : (options.idempotencyKey as string);
  for (let number = 1; ; number++) {
    try {
      return await call({ idempotencyKey, number, first: fresh && number === 1, signal });
    } catch (err) {
      if (!retryable(err, signal)) {
        throw err;
      }
      if (number >= maxAttempts) {
        throw gaveUp(err, number, idempotencyKey);
      }
      const hint = retryAfterMs(err) ?? 0;
      await sleep(Math.max(hint, backoff(number, initial, cap)), signal);
      signal?.throwIfAborted();
    }
  }
}

/**
 * retryable reports whether err leaves the call's outcome unknown or asks
 * for a retry, and the caller still wants an answer.
 */
function retryable(err: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted || !(err instanceof ConnectError)) {
    return false;
  }
  switch (err.code) {
    case Code.Unavailable:
    case Code.ResourceExhausted:
    case Code.DeadlineExceeded:
    case Code.Canceled:
      return true;
    default:
      return false;
  }
}

/**
 * backoff is the wait before retry number n (1 for the first): initial
 * doubled per retry, at most cap, jittered to between half and all of it.
 */
function backoff(n: number, initial: number, cap: number): number {
  const d = Math.min(cap, initial * 2 ** Math.min(n - 1, 30));
  return d / 2 + Math.random() * (d / 2);
}

/** abortableSleep waits ms, or rejects with the signal's reason when it aborts. */
function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * gaveUp is the last error of an action that used all its attempts, with
 * the key a later retry must carry in its message; code, metadata (the
 * reason and retry-after headers) and details are the last error's.
 */
function gaveUp(err: unknown, attempts: number, key: string): unknown {
  if (!(err instanceof ConnectError) || attempts === 1) {
    return err;
  }
  const out = new ConnectError(
    `gave up after ${attempts} attempts (outcome unknown; retry with idempotencyKey "${key}"): ${err.rawMessage}`,
    err.code,
    err.metadata,
    undefined,
    err,
  );
  out.details = err.details;
  return out;
}
