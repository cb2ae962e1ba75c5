// One departure: when it leaves (in its own time zone), what is left, the
// price of each category now (its tier and how many are left at that
// price) with a quantity stepper, the seat map, and this departure's part
// of the order. A departure that has left is not sold; a sold-out one
// offers its waitlist; a gated one queues the shopper first.

import { eventOf, availabilityOf, started, gaCategories, priceNow, freeCount, currencyOf } from "./catalog.js";
import { cart, eventTotal } from "./cart.js";
import { money, when, title, plural } from "./format.js";
import { follow } from "./live.js";
import { say, explain } from "./messages.js";
import { enterRoom } from "./room.js";
import { SeatMap } from "./seatmap.js";
import { showWaitlist } from "./waitlist.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 2000;
// While the page follows the event live (WatchChanges), it polls only this
// often, as a safety net.
const LIVE_REFRESH_MS = 15000;
// The most tickets one hold may take when the event sets no lower bound.
const SERVER_HOLD_LIMIT = 50;

let current = null;

cart.onChange(() => current && current.avail && render(current));

// showEvent shows event eventId and returns the function that stops it.
export function showEvent(eventId) {
  $("view-event").hidden = false;
  const st = { eventId, event: null, avail: null, room: "pending", stopped: false, timers: [], rows: new Map(), seatmap: null };
  for (const id of ["soldout", "waitlist", "waiting", "shop", "departed", "closed", "ga-picker", "seat-picker", "event-subtotal"]) $(id).hidden = true;
  $("event-name").textContent = "";
  $("event-when").textContent = "";
  $("avail-summary").textContent = "Loading…";
  $("categories").replaceChildren();
  $("seatmap").replaceChildren();
  current = st;
  start(st).catch((err) => say(explain(err), true));
  return () => {
    st.stopped = true;
    st.timers.forEach(clearInterval);
    clearTimeout(st.waitlistTimer);
    clearTimeout(st.liveRefresh);
    if (st.watch) st.watch.abort();
    if (current === st) current = null;
  };
}

async function start(st) {
  const ev = await eventOf(st.eventId);
  if (st.stopped) return;
  st.event = ev;
  $("event-name").textContent = ev.name || ev.id;
  $("event-when").textContent = when(ev.startsAt, ev.timeZone);
  $("event-when").dateTime = ev.startsAt || "";
  if (started(ev)) {
    $("avail-summary").textContent = "";
    $("departed").hidden = false;
    return;
  }
  buildRows(st);
  if ((ev.seats || []).length) {
    st.seatmap = new SeatMap($("seatmap"), $("seat-tip"), ev, (label) => cart.toggleSeat(st.eventId, label));
  }
  await refresh(st);
  st.timers.push(setInterval(() => {
    if (!st.live || Date.now() - st.refreshedAt >= LIVE_REFRESH_MS) refresh(st).catch(() => {});
  }, REFRESH_MS));
  follow(st, (taken, freed) => {
    if (!st.avail) return;
    const free = new Set(st.avail.freeSeats || []);
    taken.forEach((s) => free.delete(s));
    freed.forEach((s) => free.add(s));
    st.avail.freeSeats = (st.event.seats || []).filter((s) => free.has(s));
    render(st);
    clearTimeout(st.liveRefresh);
    st.liveRefresh = setTimeout(() => refresh(st).catch(() => {}), 400);
  });
  enterRoom(st, (state, status, text) => {
    if (st.stopped) return;
    if (state === "open" && status && st.room !== "open") say("It's your turn. Pick your tickets.");
    st.room = state;
    $("waiting").hidden = state !== "waiting";
    $("waiting-text").textContent = text ? " " + text : "";
    render(st);
  });
}

async function refresh(st) {
  const av = await availabilityOf(st.eventId);
  if (st.stopped) return;
  st.avail = av;
  st.refreshedAt = Date.now();
  render(st);
}

// buildRows makes a row per GA category: its name (the label of its
// quantity), price and what is left, and a stepper.
function buildRows(st) {
  const list = $("categories");
  list.replaceChildren();
  gaCategories(st.event).forEach((c, i) => {
    const name = c.name ? title(c.name) : "Tickets";
    const row = document.createElement("div");
    row.className = "cat-row";
    row.dataset.category = c.name;
    const info = document.createElement("div");
    info.className = "cat-info";
    const label = document.createElement("label");
    label.className = "cat-name";
    label.htmlFor = `qty-${i}`;
    label.textContent = name;
    const price = document.createElement("span");
    price.className = "cat-price";
    const tier = document.createElement("span");
    tier.className = "tier";
    const left = document.createElement("span");
    left.className = "left";
    info.append(label, price, tier, left);
    const stepper = document.createElement("div");
    stepper.className = "stepper";
    const down = stepButton("\u2212", `One ${name.toLowerCase()} ticket fewer`, "down");
    const up = stepButton("+", `One ${name.toLowerCase()} ticket more`, "up");
    const input = document.createElement("input");
    input.type = "number";
    input.id = `qty-${i}`;
    input.className = "qty";
    input.min = "0";
    input.inputMode = "numeric";
    input.dataset.category = c.name;
    const set = (n) => cart.setQuantity(st.eventId, c.name, Math.min(Math.max(0, n), Number(input.max || Infinity)));
    down.addEventListener("click", () => set(cart.quantity(st.eventId, c.name) - 1));
    up.addEventListener("click", () => set(cart.quantity(st.eventId, c.name) + 1));
    input.addEventListener("change", () => set(Math.floor(Number(input.value) || 0)));
    stepper.append(down, input, up);
    row.append(info, stepper);
    list.append(row);
    st.rows.set(c.name, { price, tier, left, input, down, up });
  });
}

function stepButton(text, label, cls) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "step " + cls;
  b.textContent = text;
  b.setAttribute("aria-label", label);
  return b;
}

function render(st) {
  const ev = st.event, av = st.avail;
  if (!ev || !av) return;
  const inCart = cart.tickets(st.eventId) > 0;
  const status = av.status || "EVENT_STATUS_ON_SALE";
  const closed = status !== "EVENT_STATUS_ON_SALE";
  const soldOut = !closed && (freeCount(av) === 0 || st.room === "sold_out") && !inCart;
  $("closed").hidden = !closed;
  $("closed").textContent = status === "EVENT_STATUS_CANCELLED" ? "This departure was cancelled." : "Sales have closed for this departure.";
  $("soldout").hidden = !soldOut;
  if (soldOut && $("waitlist").hidden) showWaitlist(st);
  if (!soldOut) $("waitlist").hidden = true;
  $("avail-summary").textContent = closed || soldOut ? "" : summary(ev, av);
  $("shop").hidden = !(!soldOut && !closed && st.room === "open");
  renderRows(st);
  if (st.seatmap) {
    const free = new Set(av.freeSeats || []);
    const before = cart.seats(st.eventId).length;
    cart.keepSeats(st.eventId, free);
    if (cart.seats(st.eventId).length < before) say("A seat you picked was just taken by someone else. Pick another.", true);
    $("seat-picker").hidden = false;
    st.seatmap.paint(av, new Set(cart.seats(st.eventId)));
  }
  const sub = eventTotal(ev);
  $("event-subtotal").hidden = !sub;
  if (sub) $("event-subtotal-amount").textContent = money(sub.amount, sub.currency);
}

// summary is what is left and the lowest price now: "38 tickets left ·
// from €25.00".
function summary(ev, av) {
  const parts = [];
  const ga = gaCategories(ev).length ? Number(av.availableQuantity || 0) : 0;
  if (ga) parts.push(plural(ga, "ticket left", "tickets left"));
  const seats = (ev.seats || []).length;
  if (seats) parts.push(`${(av.freeSeats || []).length} of ${seats} seats free`);
  const prices = (av.categories || []).filter((c) => Number(c.available || 0) > 0 || (c.name && seatsOn(ev, c.name, av))).map((c) => Number(c.price || 0));
  if (prices.length && currencyOf(ev)) parts.push("from " + money(Math.min(...prices), currencyOf(ev)));
  return parts.join(" · ");
}

// seatsOn reports whether a seat category has free seats.
function seatsOn(ev, name, av) {
  const cat = (ev.categories || []).find((c) => c.name === name);
  const sections = new Set((cat && cat.sections) || []);
  return sections.size > 0 && (av.sections || []).some((s) => sections.has(s.section) && Number(s.freeSeats || 0) > 0);
}

function renderRows(st) {
  const ev = st.event, av = st.avail;
  $("ga-picker").hidden = st.rows.size === 0;
  const perHold = Number(ev.maxTicketsPerHold || 0) || SERVER_HOLD_LIMIT;
  for (const [name, r] of st.rows) {
    const n = cart.quantity(st.eventId, name);
    const p = name ? priceNow(ev, av, name) : null;
    const available = p ? Math.min(p.available, Number(av.availableQuantity || 0)) : Number(av.availableQuantity || 0);
    if (p) {
      r.price.textContent = money(p.price, p.currency);
      r.tier.textContent = p.tierName ? `${title(p.tierName)}: ${p.tierLeft} left at this price` : "";
      r.tier.hidden = !p.tierName;
    }
    r.left.textContent = available > 0 ? `${available} left` : "Sold out";
    r.left.classList.toggle("none", available === 0);
    const max = Math.max(n, Math.min(available, perHold));
    r.input.max = String(max);
    if (document.activeElement !== r.input) r.input.value = String(n);
    r.down.disabled = n === 0;
    r.up.disabled = n >= max;
    r.input.disabled = max === 0;
  }
}
