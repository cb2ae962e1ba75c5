// Following an event live: the edge's WatchChanges stream (Connect server
// streaming in JSON over fetch). A seat someone else holds or books turns
// taken at once, one freed turns free; availability is read again a moment
// later for the counts. When the stream ends the page polls and tries
// again later.

import { SERVICE } from "./api.js";

const TAKES = new Set(["CHANGE_KIND_HOLD_CREATED", "CHANGE_KIND_BOOKING_CONFIRMED", "CHANGE_KIND_WAITLIST_OFFER"]);
const FREES = new Set(["CHANGE_KIND_HOLD_RELEASED", "CHANGE_KIND_HOLD_EXPIRED", "CHANGE_KIND_BOOKING_CANCELLED", "CHANGE_KIND_BOOKING_ITEMS_CANCELLED"]);

// follow streams st's event's changes while !st.stopped, calling
// onSeats(taken, freed) with the seats of this event each change took or
// freed. It sets st.live while the stream is up.
export async function follow(st, onSeats) {
  const ctrl = new AbortController();
  st.watch = ctrl;
  try {
    const res = await fetch(SERVICE + "WatchChanges", {
      method: "POST",
      headers: { "Content-Type": "application/connect+json", "Connect-Protocol-Version": "1" },
      body: envelope({ eventId: st.eventId }),
      signal: ctrl.signal,
    });
    if (!res.ok || !res.body) throw new Error("watch refused: " + res.status);
    for await (const msg of envelopes(res.body)) {
      if (msg.end) break;
      st.live = true;
      document.body.dataset.live = "on";
      const taken = [], freed = [];
      for (const c of msg.data.changes || []) {
        const seats = seatsOf(c, st.eventId);
        if (TAKES.has(c.type)) taken.push(...seats);
        if (FREES.has(c.type)) freed.push(...seats);
      }
      st.liveChanges = (st.liveChanges || 0) + (msg.data.changes || []).length;
      document.body.dataset.liveChanges = String(st.liveChanges);
      onSeats(taken, freed);
    }
  } catch (err) {
    // Aborted, refused or cut: polling carries on.
  }
  st.live = false;
  document.body.dataset.live = "off";
  if (!st.stopped) setTimeout(() => { if (!st.stopped) follow(st, onSeats); }, 5000);
}

// seatsOf lists a change's seats of one event: an order's items of that
// event (a partial cancellation names only the items it cancelled), or
// the change's own seats.
function seatsOf(c, eventId) {
  if ((c.items || []).length) return c.items.filter((it) => it.eventId === eventId).flatMap((it) => it.seats || []);
  return c.eventId === eventId || !c.eventId ? c.seats || [] : [];
}

function envelope(obj) {
  const body = new TextEncoder().encode(JSON.stringify(obj));
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, 5);
  return out;
}

// envelopes yields the enveloped messages of a Connect stream: {data}, or
// {end: true} for the end-of-stream message.
async function* envelopes(stream) {
  const reader = stream.getReader();
  let buf = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const joined = new Uint8Array(buf.length + value.length);
    joined.set(buf);
    joined.set(value, buf.length);
    buf = joined;
    while (buf.length >= 5) {
      const n = new DataView(buf.buffer, buf.byteOffset).getUint32(1);
      if (buf.length < 5 + n) break;
      const flags = buf[0];
      const data = JSON.parse(new TextDecoder().decode(buf.subarray(5, 5 + n)) || "{}");
      buf = buf.slice(5 + n);
      yield (flags & 2) ? { end: true, data } : { data };
    }
  }
}
