// The bookd booking page: hash routes #/ (search), #/event/<id> and
// #/booking/<id>, talking Connect (JSON) to the edge it came from.
"use strict";

const $ = (id) => document.getElementById(id);
const SERVICE = "/bookd.v1.BookingService/";
const REFRESH_MS = 2000;
// While the page follows the event live (WatchChanges), it polls only this
// often, as a safety net.
const LIVE_REFRESH_MS = 15000;
// The list shows at most this many departures (each card reads its
// availability).
const MAX_SHOWN = 50;

// Who the shopper is, the edge knows: its session cookie (or the portal's
// customer token) names the customer, so no request names one.

// The hold a shopper has on an event survives a reload: its id is kept in
// this browser until it is confirmed, let go or expires.
const savedHold = {
  get: (eventId) => localStorage.getItem("bookd.hold." + eventId),
  set: (eventId, id) => localStorage.setItem("bookd.hold." + eventId, id),
  drop: (eventId) => localStorage.removeItem("bookd.hold." + eventId),
};

function randomId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// rpc calls a BookingService method; a refusal throws an Error with the
// Connect code, the bookd reason and any retry-after hint.
async function rpc(method, body, headers = {}) {
  const res = await fetch(SERVICE + method, {
    method: "POST",
    headers: Object.assign({ "Content-Type": "application/json" }, headers),
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.message || res.statusText);
    err.code = data.code || "unknown";
    err.reason = res.headers.get("Bookd-Reason") || "";
    err.retryAfterMs = Number(res.headers.get("Bookd-Retry-After-Ms") || 0);
    throw err;
  }
  return data;
}

async function getJSON(method, url) {
  const res = await fetch(url, { method });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.message || res.statusText);
    err.code = data.code || "unknown";
    throw err;
  }
  return data;
}

// ---- messages ----

function say(text, isError) {
  const m = $("message");
  m.textContent = text;
  m.className = "message" + (isError ? " error" : "");
  m.hidden = !text;
}

function explain(err) {
  switch (err.reason) {
    case "SOLD_OUT": return "Sold out: there are not that many tickets left.";
    case "SEAT_TAKEN": return "Someone else just took one of those seats. Pick another.";
    case "HOLD_EXPIRED": return "Your hold expired before you confirmed. The seats went back on sale.";
    case "HOLD_RELEASED": return "That hold was let go.";
    case "ADMISSION_REQUIRED": return "This departure has a waiting room: please wait for your turn.";
  }
  if (err.code === "resource_exhausted") {
    const s = Math.max(1, Math.ceil((err.retryAfterMs || 1000) / 1000));
    return `We are very busy right now. Please try again in ${s} s.`;
  }
  if (err.code === "unavailable") return "The booking system is briefly unavailable. Please try again.";
  return err.message || "Something went wrong.";
}

// ---- formatting ----

function fmtWhen(ts) {
  if (!ts) return "";
  return new Date(ts).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function localDate(ts) {
  const d = new Date(ts);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function freeCount(a) {
  return Number(a.availableQuantity || 0) + (a.freeSeats || []).length;
}

function leftText(a) {
  const n = freeCount(a);
  return n === 0 ? "Sold out" : `${n} left`;
}

// rowOf groups seat labels into rows: a seat map's "STALLS-A-12" is in row
// "STALLS-A"; other labels by their leading letters ("AA12" -> "AA");
// labels without letters share the row "#".
function rowOf(label) {
  const map = /^(.+-.+)-[0-9]+$/.exec(label);
  if (map) return map[1];
  const m = /^[^0-9]*/.exec(label)[0];
  return m || "#";
}

// ---- routing ----

let view = null; // the current view's stop function

function route() {
  if (view) view();
  view = null;
  say("");
  for (const id of ["view-search", "view-event", "view-booking"]) $(id).hidden = true;
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  if (parts[0] === "event" && parts[1]) view = showEvent(decodeURIComponent(parts[1]));
  else if (parts[0] === "booking" && parts[1]) showBooking(decodeURIComponent(parts[1]));
  else showSearch();
}

window.addEventListener("hashchange", route);

// ---- search ----

let allEvents = [];

async function loadEvents() {
  const events = [];
  let token = "";
  do {
    const page = await rpc("ListEvents", { pageSize: 1000, pageToken: token });
    events.push(...(page.events || []));
    token = page.nextPageToken || "";
  } while (token && events.length < 5000);
  allEvents = events;
}

function showSearch() {
  $("view-search").hidden = false;
  loadEvents().then(renderEvents, (err) => say(explain(err), true));
}

$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (location.hash !== "#/" && location.hash !== "") location.hash = "#/";
  else loadEvents().then(renderEvents, (err) => say(explain(err), true));
});

function renderEvents() {
  const date = $("search-date").value;
  const text = $("search-text").value.trim().toLowerCase();
  const found = allEvents.filter((ev) =>
    (!date || (ev.startsAt && localDate(ev.startsAt) === date)) &&
    (!text || (ev.name || "").toLowerCase().includes(text)));
  found.sort((a, b) => String(a.startsAt || "").localeCompare(String(b.startsAt || "")));
  const shown = found.slice(0, MAX_SHOWN);
  $("search-count").textContent = found.length > shown.length ?
    `Showing ${shown.length} of ${found.length} departures: pick a date or a name to narrow it down.` :
    (found.length === 1 ? "1 departure" : `${found.length} departures`);
  const list = $("events");
  list.replaceChildren();
  for (const ev of shown) {
    const li = document.createElement("li");
    li.className = "event-card";
    li.dataset.eventId = ev.id;
    const a = document.createElement("a");
    a.href = "#/event/" + encodeURIComponent(ev.id);
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = ev.name || ev.id;
    const when = document.createElement("span");
    when.className = "muted";
    when.textContent = fmtWhen(ev.startsAt);
    const left = document.createElement("span");
    left.className = "left";
    a.append(name, when, left);
    li.append(a);
    list.append(li);
    rpc("GetAvailability", { eventId: ev.id }).then((av) => {
      left.textContent = leftText(av);
      left.classList.toggle("none", freeCount(av) === 0);
    }, () => {});
  }
}

// ---- one event ----

function showEvent(eventId) {
  $("view-event").hidden = false;
  // waiting stays true until the waiting room (if any) lets the shopper in.
  const st = { eventId, event: null, avail: null, selected: new Set(), hold: null, admission: "", waiting: true, stopped: false, timers: [] };
  for (const id of ["soldout", "waiting", "shop", "hold-panel", "seat-picker", "ga-picker"]) $(id).hidden = true;
  $("event-name").textContent = "";
  $("event-when").textContent = "";
  $("avail-summary").textContent = "Loading…";
  $("seatmap").replaceChildren();

  const stop = () => {
    st.stopped = true;
    st.timers.forEach(clearInterval);
    if (st.watch) st.watch.abort();
  };
  current = st;
  start(st).catch((err) => say(explain(err), true));
  return stop;
}

let current = null;

async function start(st) {
  const res = await rpc("GetEvent", { eventId: st.eventId });
  if (st.stopped) return;
  st.event = res.event;
  $("event-name").textContent = st.event.name || st.event.id;
  $("event-when").textContent = fmtWhen(st.event.startsAt);
  await refresh(st);
  st.timers.push(setInterval(() => {
    if (!st.live || Date.now() - st.refreshedAt >= LIVE_REFRESH_MS) refresh(st).catch(() => {});
  }, REFRESH_MS));
  follow(st);
  if (await resumeHold(st)) return;
  await enterRoom(st);
}

// resumeHold shows the shopper's hold on this event again after a reload,
// if it is still active; it reports whether it did.
async function resumeHold(st) {
  const id = savedHold.get(st.eventId);
  if (!id) return false;
  try {
    const { hold } = await rpc("GetHold", { holdId: id });
    if (st.stopped || hold.status !== "HOLD_STATUS_ACTIVE") {
      savedHold.drop(st.eventId);
      return false;
    }
    st.hold = hold;
    st.waiting = false;
    showHold(st);
    render(st);
    return true;
  } catch (err) {
    savedHold.drop(st.eventId);
    return false;
  }
}

async function refresh(st) {
  const av = await rpc("GetAvailability", { eventId: st.eventId });
  if (st.stopped) return;
  st.avail = av;
  st.refreshedAt = Date.now();
  render(st);
}

// ---- live updates ----

// follow streams the event's changes from the edge (WatchChanges, Connect
// server streaming in JSON over fetch) while the page shows the event: a
// seat someone else holds or books turns taken at once, one freed turns
// free, and availability is read again a moment later (after the edge's
// cache) for the counts. Polling goes on, slower, as a safety net; when
// the stream ends the page falls back to polling and tries again later.
async function follow(st) {
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
      applyChanges(st, msg.data.changes || []);
    }
  } catch (err) {
    // Aborted, refused or cut: polling carries on.
  }
  st.live = false;
  document.body.dataset.live = "off";
  if (!st.stopped) setTimeout(() => { if (!st.stopped) follow(st); }, 5000);
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

const TAKES = new Set(["CHANGE_KIND_HOLD_CREATED", "CHANGE_KIND_BOOKING_CONFIRMED", "CHANGE_KIND_WAITLIST_OFFER"]);
const FREES = new Set(["CHANGE_KIND_HOLD_RELEASED", "CHANGE_KIND_HOLD_EXPIRED", "CHANGE_KIND_BOOKING_CANCELLED"]);

function applyChanges(st, changes) {
  if (!changes.length || !st.avail) return;
  const free = new Set(st.avail.freeSeats || []);
  for (const c of changes) {
    for (const s of c.seats || []) {
      if (TAKES.has(c.type)) free.delete(s);
      if (FREES.has(c.type)) free.add(s);
    }
  }
  st.avail.freeSeats = (st.event.seats || []).filter((s) => free.has(s));
  st.liveChanges = (st.liveChanges || 0) + changes.length;
  document.body.dataset.liveChanges = String(st.liveChanges);
  render(st);
  clearTimeout(st.liveRefresh);
  st.liveRefresh = setTimeout(() => refresh(st).catch(() => {}), 400);
}

function render(st) {
  const av = st.avail;
  const ev = st.event;
  const seats = ev.seats || [];
  const ga = Number(ev.capacity || 0) > 0;
  const free = new Set(av.freeSeats || []);
  const soldOut = freeCount(av) === 0 && !st.hold;
  $("avail-summary").textContent = soldOut ? "Sold out" :
    [ga ? `${av.availableQuantity || 0} tickets left` : "", seats.length ? `${free.size} of ${seats.length} seats free` : ""].filter(Boolean).join(" · ");
  $("soldout").hidden = !soldOut;
  const shopping = !soldOut && !st.hold && !st.waiting;
  $("shop").hidden = !shopping;
  $("seat-picker").hidden = seats.length === 0;
  $("ga-picker").hidden = !ga || Number(av.availableQuantity || 0) === 0;
  for (const s of [...st.selected]) if (!free.has(s)) st.selected.delete(s);
  renderSeatmap(st, seats, free);
  updateHoldButton(st);
}

function renderSeatmap(st, seats, free) {
  const rows = new Map();
  for (const label of seats) {
    const r = rowOf(label);
    if (!rows.has(r)) rows.set(r, []);
    rows.get(r).push(label);
  }
  const map = $("seatmap");
  map.replaceChildren();
  for (const [r, labels] of rows) {
    const row = document.createElement("div");
    row.className = "seat-row";
    row.dataset.row = r;
    const name = document.createElement("span");
    name.className = "row-label";
    name.textContent = r;
    row.append(name);
    for (const label of labels) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "seat";
      b.dataset.seat = label;
      b.textContent = label;
      if (!free.has(label)) {
        b.classList.add("taken");
        b.disabled = true;
        b.title = "taken";
      } else if (st.selected.has(label)) {
        b.classList.add("selected");
      }
      b.addEventListener("click", () => {
        if (st.selected.has(label)) st.selected.delete(label); else st.selected.add(label);
        b.classList.toggle("selected");
        updateHoldButton(st);
      });
      row.append(b);
    }
    map.append(row);
  }
}

// holdsSeats reports whether a hold now would claim the picked seats
// (rather than a GA quantity).
function holdsSeats(st) {
  return (st.event.seats || []).length > 0 && (st.selected.size > 0 || Number(st.event.capacity || 0) === 0);
}

function updateHoldButton(st) {
  const seats = holdsSeats(st);
  const n = seats ? st.selected.size : Number($("ga-qty").value || 0);
  const btn = $("hold-btn");
  btn.disabled = n < 1 || !!st.hold;
  btn.textContent = n < 1 ? (seats ? "Pick seats to hold" : "Hold") : `Hold ${n} ${seats ? (n === 1 ? "seat" : "seats") : (n === 1 ? "ticket" : "tickets")}`;
}

$("ga-qty").addEventListener("input", () => current && updateHoldButton(current));

$("hold-btn").addEventListener("click", async () => {
  const st = current;
  if (!st || st.hold) return;
  const seats = holdsSeats(st);
  const req = { eventId: st.eventId, idempotencyKey: "web-" + randomId() };
  if (seats) req.seats = [...st.selected];
  else req.quantity = String(Number($("ga-qty").value));
  $("hold-btn").disabled = true;
  try {
    const res = await rpc("Hold", req, st.admission ? { "Bookd-Admission": st.admission } : {});
    st.hold = res.hold;
    savedHold.set(st.eventId, res.hold.id);
    say("");
    showHold(st);
    refresh(st).catch(() => {});
  } catch (err) {
    say(explain(err), true);
    st.selected.clear();
    await refresh(st).catch(() => {});
  }
});

function showHold(st) {
  const h = st.hold;
  $("shop").hidden = true;
  $("hold-panel").hidden = false;
  $("hold-what").textContent = (h.seats && h.seats.length) ? `Seats ${h.seats.join(", ")}` : `${h.quantity} ticket(s)`;
  $("payment-ref").value = "";
  const expires = new Date(h.expiresAt).getTime();
  const tick = () => {
    const left = Math.max(0, expires - Date.now());
    const s = Math.ceil(left / 1000);
    $("countdown").textContent = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
    $("countdown").parentElement.classList.toggle("urgent", s <= 30);
    if (left <= 0) {
      clearInterval(timer);
      dropHold(st);
      say("Your hold expired before you confirmed. The seats went back on sale.", true);
    }
  };
  const timer = setInterval(tick, 250);
  st.holdTimer = timer;
  st.timers.push(timer);
  tick();
}

function dropHold(st) {
  clearInterval(st.holdTimer);
  savedHold.drop(st.eventId);
  st.hold = null;
  st.selected.clear();
  $("hold-panel").hidden = true;
  refresh(st).catch(() => {});
}

$("confirm-btn").addEventListener("click", async () => {
  const st = current;
  if (!st || !st.hold) return;
  const ref = $("payment-ref").value.trim();
  if (!ref) {
    say("Enter a payment reference to confirm.", true);
    return;
  }
  // Optional: where the receipt goes (the cluster checks it again).
  const email = $("contact-email").value.trim();
  if (email && !$("contact-email").checkValidity()) {
    say("Enter an e-mail address like name@example.com for the receipt, or leave it empty.", true);
    return;
  }
  $("confirm-btn").disabled = true;
  try {
    const req = { holdId: st.hold.id, paymentRef: ref, idempotencyKey: "web-" + randomId() };
    if (email) req.contactEmail = email;
    const res = await rpc("Confirm", req);
    clearInterval(st.holdTimer);
    savedHold.drop(st.eventId);
    location.hash = "#/booking/" + encodeURIComponent(res.booking.id);
  } catch (err) {
    say(explain(err), true);
    if (err.reason === "HOLD_EXPIRED" || err.reason === "HOLD_RELEASED") dropHold(st);
  } finally {
    $("confirm-btn").disabled = false;
  }
});

$("release-btn").addEventListener("click", async () => {
  const st = current;
  if (!st || !st.hold) return;
  try {
    await rpc("ReleaseHold", { holdId: st.hold.id, idempotencyKey: "web-" + randomId() });
    say("Let go. The seats are back on sale.");
  } catch (err) {
    say(explain(err), true);
  }
  dropHold(st);
});

// ---- waiting room ----

async function enterRoom(st) {
  let room;
  try {
    room = await getJSON("GET", `/waitroom/v1/events/${encodeURIComponent(st.eventId)}`);
  } catch (err) {
    room = { gated: false }; // no waiting room API on this edge: shop directly
  }
  if (st.stopped) return;
  if (!room.gated) {
    st.waiting = false;
    render(st);
    return;
  }
  const key = "bookd.ticket." + st.eventId;
  let status = null;
  const saved = sessionStorage.getItem(key);
  if (saved) status = await getJSON("GET", `/waitroom/v1/events/${encodeURIComponent(st.eventId)}/tickets/${saved}`).catch(() => null);
  if (!status) status = await getJSON("POST", `/waitroom/v1/events/${encodeURIComponent(st.eventId)}/join`);
  sessionStorage.setItem(key, status.ticket);
  // Polled while waiting, and less often once admitted: a shopper who
  // stops asking loses their place.
  const poll = async () => {
    if (st.stopped) return;
    showRoom(st, status);
    if (status.state === "done") return;
    setTimeout(async () => {
      try {
        status = await getJSON("GET", `/waitroom/v1/events/${encodeURIComponent(st.eventId)}/tickets/${status.ticket}`);
      } catch (err) {
        if (err.code === "not_found") {
          status = await getJSON("POST", `/waitroom/v1/events/${encodeURIComponent(st.eventId)}/join`).catch(() => status);
          sessionStorage.setItem(key, status.ticket);
        }
      }
      poll();
    }, status.state === "admitted" ? 15000 : 1000);
  };
  poll();
}

function showRoom(st, status) {
  const w = $("waiting");
  switch (status.state) {
    case "admitted":
      st.waiting = false;
      if (!st.admission) say("It's your turn. Pick your seats.");
      st.admission = status.token;
      w.hidden = true;
      break;
    case "sold_out":
      st.waiting = true;
      w.hidden = true;
      $("soldout").hidden = false;
      break;
    case "pre_queue":
      st.waiting = true;
      w.hidden = false;
      $("waiting-text").textContent = ` Sales open at ${fmtWhen(status.on_sale)}. Everyone here before then gets a random place in line.`;
      break;
    default:
      st.waiting = true;
      w.hidden = false;
      const secs = Math.ceil((status.estimated_wait_ms || 0) / 1000);
      $("waiting-text").textContent = ` You are number ${status.position} in line (about ${secs < 60 ? secs + " s" : Math.ceil(secs / 60) + " min"}).`;
  }
  if (st.avail) render(st);
}

// ---- one booking ----

async function showBooking(id) {
  $("view-booking").hidden = false;
  for (const f of ["booking-id", "booking-event", "booking-what", "booking-payment", "booking-email", "booking-status"]) $(f).textContent = "";
  try {
    const { booking: b } = await rpc("GetBooking", { bookingId: id });
    $("booking-id").textContent = b.id;
    $("booking-event").textContent = b.eventId;
    rpc("GetEvent", { eventId: b.eventId }).then((r) => {
      $("booking-event").textContent = `${r.event.name} · ${fmtWhen(r.event.startsAt)}`;
    }, () => {});
    $("booking-what").textContent = (b.seats && b.seats.length) ? `Seats ${b.seats.join(", ")}` : `${b.quantity} ticket(s)`;
    $("booking-payment").textContent = b.paymentRef || "";
    $("booking-email").textContent = b.contactEmail || "no receipt asked for";
    $("booking-status").textContent = (b.status || "").replace("BOOKING_STATUS_", "").toLowerCase();
  } catch (err) {
    say(explain(err), true);
  }
}

route();
