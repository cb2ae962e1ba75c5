// Calls of the edge's BookingService in the Connect protocol (JSON over
// fetch), and what a refusal says: its Connect code, bookd reason, the
// ErrorInfo metadata (which item of an order, which category) and the
// field at fault. The shopper never sees any of it as text: messages.js
// turns it into sentences.
//
// Who the shopper is, the edge knows: its session cookie (or a portal's
// customer token) names the customer, so no request names one.

export const SERVICE = "/bookd.v1.BookingService/";

// CallError is a refused or failed call. code is the Connect code
// ("not_found", "resource_exhausted") or "network" when the edge could not
// be reached; reason is bookd's (SOLD_OUT); meta the ErrorInfo metadata;
// field the field a BadRequest names.
export class CallError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
    this.reason = "";
    this.meta = {};
    this.field = "";
    this.retryAfterMs = 0;
  }
}

// rpc calls a BookingService method with a JSON body.
export async function rpc(method, body, headers = {}) {
  let res;
  try {
    res = await fetch(SERVICE + method, {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json" }, headers),
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new CallError("network", String(err));
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw refusal(res, data);
  return data;
}

// getJSON calls a plain JSON endpoint (the waiting room's).
export async function getJSON(method, url) {
  let res;
  try {
    res = await fetch(url, { method });
  } catch (err) {
    throw new CallError("network", String(err));
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw refusal(res, data);
  return data;
}

// newKey is a fresh idempotency key: a retry of the same click reuses it.
export function newKey() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return "web-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function refusal(res, data) {
  const err = new CallError(data.code || (res.status === 404 ? "not_found" : "unknown"), data.message || res.statusText);
  err.reason = res.headers.get("Bookd-Reason") || "";
  err.retryAfterMs = Number(res.headers.get("Bookd-Retry-After-Ms") || 0);
  for (const d of data.details || []) {
    const bytes = fromBase64(d.value || "");
    if (!bytes) continue;
    if (d.type === "google.rpc.ErrorInfo") {
      const info = errorInfo(bytes);
      err.meta = info.metadata;
      // Without a reason of its own, a refusal's ErrorInfo names its code.
      if (!err.reason && info.reason !== err.code.toUpperCase()) err.reason = info.reason;
    } else if (d.type === "google.rpc.BadRequest") {
      err.field = badRequestField(bytes);
    }
  }
  return err;
}

function fromBase64(s) {
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch (err) {
    return null;
  }
}

// The two details the page reads are small protobuf messages; it decodes
// their bytes (the detail's value) rather than the optional debug JSON.

function varint(b, i) {
  let v = 0;
  for (let shift = 0; i < b.length; shift += 7) {
    const x = b[i++];
    v += (x & 0x7f) * 2 ** shift;
    if (!(x & 0x80)) break;
  }
  return [v, i];
}

// fields yields a message's [number, value] pairs: a number for varints,
// the bytes for length-delimited fields; other wire types are skipped.
function* fields(b) {
  let i = 0;
  while (i < b.length) {
    let key;
    [key, i] = varint(b, i);
    const no = Math.floor(key / 8), wire = key % 8;
    if (wire === 0) {
      let v;
      [v, i] = varint(b, i);
      yield [no, v];
    } else if (wire === 2) {
      let n;
      [n, i] = varint(b, i);
      yield [no, b.subarray(i, i + n)];
      i += n;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else return;
  }
}

const utf8 = new TextDecoder();

// errorInfo decodes google.rpc.ErrorInfo {reason = 1, domain = 2,
// map<string, string> metadata = 3}.
function errorInfo(b) {
  const info = { reason: "", metadata: {} };
  for (const [no, v] of fields(b)) {
    if (no === 1 && v instanceof Uint8Array) info.reason = utf8.decode(v);
    if (no === 3 && v instanceof Uint8Array) {
      let k = "", val = "";
      for (const [eno, ev] of fields(v)) {
        if (eno === 1 && ev instanceof Uint8Array) k = utf8.decode(ev);
        if (eno === 2 && ev instanceof Uint8Array) val = utf8.decode(ev);
      }
      info.metadata[k] = val;
    }
  }
  return info;
}

// badRequestField decodes the first field of google.rpc.BadRequest
// {repeated FieldViolation field_violations = 1 {field = 1}}.
function badRequestField(b) {
  for (const [no, v] of fields(b)) {
    if (no !== 1 || !(v instanceof Uint8Array)) continue;
    for (const [fno, fv] of fields(v)) if (fno === 1 && fv instanceof Uint8Array) return utf8.decode(fv);
  }
  return "";
}
