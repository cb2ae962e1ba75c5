import type {
  DescMessage,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
} from "@bufbuild/protobuf";
import type {
  ContextValues,
  Interceptor,
  StreamResponse,
  Transport,
  UnaryResponse,
} from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { Consistency } from "./gen/bookd/v1/booking_pb.js";

/**
 * LEADER_HEADER names the response header in which every node reports the
 * RPC address ("host:port") of the leader it knows, on answers and
 * refusals alike.
 */
export const LEADER_HEADER = "Bookd-Leader";

/** LeaderRoutingOptions configure createLeaderRoutingTransport. */
export interface LeaderRoutingOptions {
  /**
   * The nodes: "host:port" (http), "http://host:port" or
   * "https://host:port". At least one.
   */
  endpoints: readonly string[];
  /**
   * Makes the transport that talks to one node at baseUrl; it must run
   * interceptors, where the leader hint is read. Called once per node.
   */
  transportFor: (baseUrl: string, interceptors: Interceptor[]) => Transport;
}

/**
 * LeaderRoutingTransport sends each call to one node of a cluster, and
 * writes to the leader once a node has named it.
 */
export interface LeaderRoutingTransport extends Transport {
  /** The base URL ("http://host:port") of the leader last reported, or undefined. */
  leader(): string | undefined;
  /** The base URLs of the endpoints given, in order, without duplicates. */
  readonly endpoints: readonly string[];
}

/**
 * createLeaderRoutingTransport returns a transport that routes calls as
 * the Go client does. Every answer names the leader (Bookd-Leader); from
 * then on writes and linearizable reads go straight to it, saving the hop
 * a follower makes to forward them. Stale reads
 * (read.consistency = CONSISTENCY_STALE) and streams go to the current
 * endpoint, as do all calls while no leader is known. A call refused as
 * UNAVAILABLE (or that could not reach its node) forgets that node as the
 * leader and moves the current endpoint on, so the next attempt (see
 * withRetry) goes elsewhere. It does not retry by itself.
 */
export function createLeaderRoutingTransport(options: LeaderRoutingOptions): LeaderRoutingTransport {
  const list = [...new Set(options.endpoints.map(parseEndpoint))];
  if (list.length === 0) {
    throw new Error("bookd: no endpoints");
  }
  let cursor = 0;
  let leader: string | undefined;
  const transports = new Map<string, Transport>();

  const sniffer = (base: string): Interceptor => (next) => async (req) => {
    try {
      const res = await next(req);
      learn(base, res.header.get(LEADER_HEADER));
      return res;
    } catch (err) {
      if (err instanceof ConnectError) {
        learn(base, err.metadata.get(LEADER_HEADER));
      }
      throw err;
    }
  };
  const learn = (base: string, addr: string | null) => {
    if (addr === null || addr === "") {
      return;
    }
    try {
      leader = parseEndpoint(new URL(base).protocol + "//" + addr);
    } catch {
      // A malformed report is ignored.
    }
  };
  const current = (): string => list[cursor] as string; // list is not empty
  const failed = (base: string) => {
    if (leader === base) {
      leader = undefined;
    }
    if (current() === base) {
      cursor = (cursor + 1) % list.length;
    }
  };
  const transport = (base: string): Transport => {
    let t = transports.get(base);
    if (t === undefined) {
      t = options.transportFor(base, [sniffer(base)]);
      transports.set(base, t);
    }
    return t;
  };
  const send = async <R>(base: string, run: (t: Transport) => Promise<R>): Promise<R> => {
    try {
      return await run(transport(base));
    } catch (err) {
      if (ConnectError.from(err).code === Code.Unavailable) {
        failed(base);
      }
      throw err;
    }
  };

  return {
    endpoints: list,
    leader: () => leader,
    unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const base = (!isStaleRead(input) && leader) || current();
      return send(base, (t) => t.unary(method, signal, timeoutMs, header, input, contextValues));
    },
    stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      return send(current(), (t) => t.stream(method, signal, timeoutMs, header, input, contextValues));
    },
  };
}

/** isStaleRead reports whether a request asks for a stale read. */
function isStaleRead(input: unknown): boolean {
  const read = (input as { read?: { consistency?: unknown } } | undefined)?.read;
  return read?.consistency === Consistency.STALE;
}

/**
 * parseEndpoint turns "host:port", "http://host:port" or
 * "https://host:port" into a base URL, or throws.
 */
export function parseEndpoint(s: string): string {
  let raw = s.trim();
  if (raw === "") {
    throw new Error("bookd: empty endpoint");
  }
  if (!raw.includes("://")) {
    raw = "http://" + raw;
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`bookd: endpoint "${s}": want host:port`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new Error(`bookd: endpoint "${s}": scheme ${u.protocol} is not http or https`);
  }
  if (u.username !== "" || u.password !== "" || (u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.hash !== "") {
    throw new Error(`bookd: endpoint "${s}": want host:port without user, path or query`);
  }
  if (u.port === "") {
    throw new Error(`bookd: endpoint "${s}": want host:port`);
  }
  return `${u.protocol}//${u.host}`;
}
