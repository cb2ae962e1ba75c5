import type { Interceptor } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport } from "@connectrpc/connect-node";
import { createLeaderRoutingTransport, type LeaderRoutingTransport } from "./leader.js";

/** DEFAULT_ENDPOINTS are bookd dev's nodes, as the bookd CLI assumes. */
export const DEFAULT_ENDPOINTS: readonly string[] = ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"];

/** BookdTransportOptions configure createBookdTransport. */
export interface BookdTransportOptions {
  /**
   * The nodes, "host:port" or "http(s)://host:port". Default: the
   * comma-separated BOOKD_ENDPOINTS, else DEFAULT_ENDPOINTS.
   */
  endpoints?: readonly string[];
  /**
   * "2" (the default) keeps one HTTP/2 connection per node for all calls,
   * cleartext (prior knowledge) for http:// endpoints; "1.1" opens
   * connections as calls need them.
   */
  httpVersion?: "2" | "1.1";
  /** Connect's JSON encoding instead of binary protobuf (default false). */
  useBinaryFormat?: boolean;
  /** Interceptors run on every call, after the transport picked its node (req.url names it). */
  interceptors?: Interceptor[];
}

/**
 * BookdTransport is a Connect transport for Node.js programs that talk to
 * bookd nodes directly: it learns the leader from the Bookd-Leader header
 * and sends writes there (see createLeaderRoutingTransport).
 */
export interface BookdTransport extends LeaderRoutingTransport {
  /** Closes the transport's HTTP/2 connections; calls in flight fail. */
  close(): void;
}

/**
 * createBookdTransport returns a transport for createClient from
 * @connectrpc/connect:
 *
 *     const transport = createBookdTransport({ endpoints: ["10.0.0.1:8001", "10.0.0.2:8001"] });
 *     const booking = createClient(BookingService, transport);
 */
export function createBookdTransport(options: BookdTransportOptions = {}): BookdTransport {
  const endpoints = options.endpoints ?? envEndpoints() ?? DEFAULT_ENDPOINTS;
  const httpVersion = options.httpVersion ?? "2";
  const sessions: Http2SessionManager[] = [];
  const routing = createLeaderRoutingTransport({
    endpoints,
    transportFor(baseUrl, interceptors) {
      const common = {
        baseUrl,
        useBinaryFormat: options.useBinaryFormat ?? true,
        interceptors: [...interceptors, ...(options.interceptors ?? [])],
      };
      if (httpVersion === "1.1") {
        return createConnectTransport({ ...common, httpVersion });
      }
      const sessionManager = new Http2SessionManager(baseUrl, { pingIntervalMs: 10_000, pingTimeoutMs: 5_000 });
      sessions.push(sessionManager);
      return createConnectTransport({ ...common, httpVersion, sessionManager });
    },
  });
  return Object.assign(routing, {
    close() {
      for (const s of sessions) {
        s.abort();
      }
    },
  });
}

/** envEndpoints is BOOKD_ENDPOINTS split at commas, or undefined when unset. */
function envEndpoints(): string[] | undefined {
  const v = process.env["BOOKD_ENDPOINTS"]?.trim();
  return v ? v.split(",").filter((s) => s.trim() !== "") : undefined;
}
