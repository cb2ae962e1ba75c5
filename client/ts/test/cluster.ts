// A real 3-node bookd cluster for the tests: three `bookd server`
// processes on free loopback ports with their data in a temporary
// directory, so that the tests never meet a developer's `make cluster`.
// With BOOKD_ENDPOINTS set, the tests use that cluster instead (and start
// nothing).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, existsSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { ClusterService } from "../src/index.js";
import { createBookdTransport } from "../src/node.js";

/** TestCluster is a cluster the tests may use, started by them or not. */
export interface TestCluster {
  /** The nodes' RPC addresses, "host:port". */
  readonly endpoints: string[];
  /** Stops what start began (nothing for BOOKD_ENDPOINTS). */
  stop(): Promise<void>;
}

interface Node {
  id: string;
  rpcAddr: string;
  raftAddr: string;
  log: string;
  proc: ChildProcess;
}

/** repoRoot is the repository's root: client/ts is two levels below it. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

/**
 * startCluster returns BOOKD_ENDPOINTS' cluster, or starts three nodes of
 * BOOKD_BIN (default: bin/bookd, built first with go build) and waits
 * until all three agree on a leader.
 */
export async function startCluster(): Promise<TestCluster> {
  const env = process.env["BOOKD_ENDPOINTS"]?.trim();
  if (env) {
    const endpoints = env.split(",").map((s) => s.trim()).filter((s) => s !== "");
    await waitForLeader(endpoints, 30_000);
    return { endpoints, stop: async () => {} };
  }
  const bin = bookdBinary();
  const dir = mkdtempSync(join(tmpdir(), "bookd-ts-test-"));
  const nodes: Node[] = [];
  for (let i = 1; i <= 3; i++) {
    nodes.push({
      id: `n${i}`,
      rpcAddr: await freeAddr(),
      raftAddr: await freeAddr(),
      log: join(dir, `n${i}.log`),
      proc: undefined as unknown as ChildProcess,
    });
  }
  const initial = nodes.map((n) => `${n.id}=${n.raftAddr}`).join(",");
  for (const n of nodes) {
    const out = openSync(n.log, "a");
    n.proc = spawn(
      bin,
      [
        "server", "--id", n.id, "--data-dir", join(dir, n.id),
        "--raft-addr", n.raftAddr, "--rpc-addr", n.rpcAddr, "--initial-cluster", initial,
        "--log-level", "warn",
      ],
      { stdio: ["ignore", out, out] },
    );
    closeSync(out);
  }
  const stop = async () => {
    await Promise.all(nodes.map((n) => stopProcess(n.proc)));
    rmSync(dir, { recursive: true, force: true });
  };
  const endpoints = nodes.map((n) => n.rpcAddr);
  try {
    await waitForLeader(endpoints, 60_000, () => {
      const dead = nodes.find((n) => n.proc.exitCode !== null || n.proc.signalCode !== null);
      if (dead) {
        throw new Error(`bookd ${dead.id} exited:\n${readFileSync(dead.log, "utf8")}`);
      }
    });
  } catch (err) {
    const logs = nodes.map((n) => `--- ${n.id} log:\n${readFileSync(n.log, "utf8")}`).join("\n");
    await stop();
    throw new Error(`${String(err)}\n${logs}`);
  }
  return { endpoints, stop };
}

/** bookdBinary returns BOOKD_BIN, or builds bin/bookd at the repository's root. */
function bookdBinary(): string {
  const given = process.env["BOOKD_BIN"];
  if (given) {
    return resolve(given);
  }
  const bin = join(repoRoot, "bin", "bookd");
  const go = existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
  execFileSync(go, ["build", "-o", bin, "./cmd/bookd"], { cwd: repoRoot, stdio: "inherit" });
  return bin;
}

/** freeAddr returns a loopback address with a port nothing listens on now. */
function freeAddr(): Promise<string> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => (typeof a === "object" && a !== null ? ok(`127.0.0.1:${a.port}`) : fail(new Error("no port"))));
    });
  });
}

/**
 * waitForLeader polls every node's status until all answer and name the
 * same leader, or throws after timeoutMs. check may throw to give up early.
 */
export async function waitForLeader(endpoints: string[], timeoutMs: number, check: () => void = () => {}): Promise<string> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const transports = endpoints.map((e) => createBookdTransport({ endpoints: [e], httpVersion: "1.1" }));
  try {
    for (;;) {
      check();
      const leaders = await Promise.all(
        transports.map((t) =>
          createClient(ClusterService, t)
            .getStatus({}, { timeoutMs: 2_000 })
            .then((st) => st.leaderRpcAddress, () => ""),
        ),
      );
      const first = leaders[0] ?? "";
      if (first !== "" && leaders.every((l) => l === first)) {
        return first;
      }
      if (deadline.aborted) {
        throw new Error(`no leader all of ${endpoints.join(",")} agree on within ${timeoutMs} ms (they say: ${JSON.stringify(leaders)})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    transports.forEach((t) => t.close());
  }
}

/** stopProcess sends SIGTERM, then SIGKILL if the process is still there after 10 s. */
function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((ok) => {
    const kill = setTimeout(() => p.kill("SIGKILL"), 10_000);
    p.once("exit", () => {
      clearTimeout(kill);
      ok();
    });
    p.kill("SIGTERM");
  });
}
