// The waiting room of an event (the edge's /waitroom/v1 API): a gated
// departure lets the shopper pick tickets once it is their turn, and a
// hold of its tickets carries the admission token.

import { getJSON } from "./api.js";
import { when } from "./format.js";

// admissions are the tokens this page was given, by event.
const admissions = new Map();

// gated are the events found to have a waiting room.
export const gated = new Set();

// admissionHeaders are the headers a hold of these events' tickets
// carries: Bookd-Admission with the token of the gated one. An order may
// take one gated event (an admission is for one event); the edge refuses
// one with two, naming the second.
export function admissionHeaders(eventIds) {
  const token = eventIds.map((id) => admissions.get(id)).find(Boolean);
  return token ? { "Bookd-Admission": token } : {};
}

const base = (eventId) => `/waitroom/v1/events/${encodeURIComponent(eventId)}`;

// enterRoom queues the shopper for st's event if it has a waiting room and
// calls show(state, status) as the place in line changes: state is
// "open" (no room, or admitted), "waiting", "pre_queue" or "sold_out".
// It polls until st.stopped.
export async function enterRoom(st, show) {
  let room;
  try {
    room = await getJSON("GET", base(st.eventId));
  } catch (err) {
    room = { gated: false }; // no waiting room API on this edge: shop directly
  }
  if (st.stopped) return;
  if (!room.gated) {
    show("open", null);
    return;
  }
  gated.add(st.eventId);
  const key = "bookd.ticket." + st.eventId;
  let status = null;
  const saved = sessionStorage.getItem(key);
  if (saved) status = await getJSON("GET", `${base(st.eventId)}/tickets/${encodeURIComponent(saved)}`).catch(() => null);
  if (!status) status = await getJSON("POST", `${base(st.eventId)}/join`);
  sessionStorage.setItem(key, status.ticket);
  // Polled while waiting, and less often once admitted: a shopper who
  // stops asking loses their place.
  const poll = () => {
    if (st.stopped) return;
    report(st, status, show);
    if (status.state === "done") return;
    setTimeout(async () => {
      try {
        status = await getJSON("GET", `${base(st.eventId)}/tickets/${encodeURIComponent(status.ticket)}`);
      } catch (err) {
        if (err.code === "not_found") {
          status = await getJSON("POST", `${base(st.eventId)}/join`).catch(() => status);
          sessionStorage.setItem(key, status.ticket);
        }
      }
      poll();
    }, status.state === "admitted" ? 15000 : 1000);
  };
  poll();
}

function report(st, status, show) {
  switch (status.state) {
    case "admitted":
      admissions.set(st.eventId, status.token);
      show("open", status);
      break;
    case "sold_out":
      show("sold_out", status);
      break;
    case "pre_queue":
      show("waiting", status, `Sales open at ${when(status.on_sale, st.event && st.event.timeZone)}. Everyone here before then gets a random place in line.`);
      break;
    default: {
      const secs = Math.ceil((status.estimated_wait_ms || 0) / 1000);
      show("waiting", status, `You are number ${status.position} in line (about ${secs < 60 ? secs + " s" : Math.ceil(secs / 60) + " min"}).`);
    }
  }
}
