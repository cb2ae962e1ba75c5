// The shopper's order before it is held: tickets of several categories and
// departures (an outbound and a return), a voucher code, and a running
// total worked out from the prices shown. It is kept in this browser, so a
// reload or a visit to another departure keeps it. Holding it places one
// Hold with every item, all or nothing; from then on the hold's own total
// and discount, as the server priced them, are what the shopper sees.

import { rpc, newKey } from "./api.js";
import { eventOf, lastAvailability, availabilityOf, estimate, currencyOf, seatCategory, started } from "./catalog.js";
import { money, when, itemText } from "./format.js";
import { say, explain } from "./messages.js";
import { admissionHeaders, gated } from "./room.js";
import { savedHold } from "./saved.js";

const $ = (id) => document.getElementById(id);
const KEY = "bookd.cart";

// An item is {eventId, category, quantity} (GA tickets of a category; ""
// on an event without categories) or {eventId, seats}.
let state = load();
const listeners = new Set();

function load() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) || "null");
    if (s && Array.isArray(s.items)) return { items: s.items, voucher: String(s.voucher || "") };
  } catch (err) {
    // A cart this page cannot read is started afresh.
  }
  return { items: [], voucher: "" };
}

function changed() {
  localStorage.setItem(KEY, JSON.stringify(state));
  for (const fn of listeners) fn();
}

export const cart = {
  items: () => state.items,
  // onChange calls fn after every change of the cart.
  onChange: (fn) => listeners.add(fn),
  // quantity is how many GA tickets of a category of an event are in it.
  quantity(eventId, category) {
    const it = state.items.find((i) => i.eventId === eventId && !i.seats && i.category === category);
    return it ? it.quantity : 0;
  },
  setQuantity(eventId, category, n) {
    n = Math.max(0, Math.floor(Number(n) || 0));
    const i = state.items.findIndex((i) => i.eventId === eventId && !i.seats && i.category === category);
    if (i >= 0 && n === 0) state.items.splice(i, 1);
    else if (i >= 0) state.items[i].quantity = n;
    else if (n > 0) state.items.push({ eventId, category, quantity: n });
    changed();
  },
  // seats are the seats of an event in it.
  seats(eventId) {
    const it = state.items.find((i) => i.eventId === eventId && i.seats);
    return it ? it.seats : [];
  },
  toggleSeat(eventId, label) {
    let it = state.items.find((i) => i.eventId === eventId && i.seats);
    if (!it) state.items.push(it = { eventId, seats: [] });
    if (it.seats.includes(label)) it.seats = it.seats.filter((s) => s !== label);
    else it.seats.push(label);
    if (!it.seats.length) state.items = state.items.filter((i) => i !== it);
    changed();
  },
  // keepSeats drops the event's seats that are no longer free.
  keepSeats(eventId, free) {
    const it = state.items.find((i) => i.eventId === eventId && i.seats);
    if (!it || it.seats.every((s) => free.has(s))) return;
    it.seats = it.seats.filter((s) => free.has(s));
    if (!it.seats.length) state.items = state.items.filter((i) => i !== it);
    changed();
  },
  remove(i) {
    state.items.splice(i, 1);
    changed();
  },
  clear() {
    state = { items: [], voucher: "" };
    changed();
  },
  tickets(eventId) {
    return state.items.filter((i) => i.eventId === eventId).reduce((n, i) => n + (i.seats ? i.seats.length : i.quantity), 0);
  },
};

// priced splits an item by category (seats of two sections may be priced
// by two) into [{category, quantity}].
function priced(ev, it) {
  if (!it.seats) return [{ category: it.category, quantity: it.quantity }];
  const by = new Map();
  for (const s of it.seats) {
    const c = seatCategory(ev, s);
    by.set(c, (by.get(c) || 0) + 1);
  }
  return [...by].map(([category, quantity]) => ({ category, quantity }));
}

// amountOf estimates an item, or null when its event sells without prices.
function amountOf(ev, it) {
  const currency = currencyOf(ev);
  if (!currency) return null;
  const av = lastAvailability(ev.id);
  return { amount: priced(ev, it).reduce((n, p) => n + estimate(ev, av, p.category, p.quantity), 0), currency };
}

// eventTotal estimates the items of one event in the cart: {amount,
// currency} or null.
export function eventTotal(ev) {
  let total = null;
  for (const it of state.items) {
    if (it.eventId !== ev.id) continue;
    const a = amountOf(ev, it);
    if (a) total = { amount: (total ? total.amount : 0) + a.amount, currency: a.currency };
  }
  return total;
}

// shown: the view is one where the order is put together.
let shown = false;

// showCart shows the cart beside the view (on) or hides it.
export function showCart(on) {
  shown = on;
  renderCart();
}

$("cart-link").addEventListener("click", () => {
  $("cart").scrollIntoView({ behavior: "smooth", block: "start" });
  $("cart-title").focus({ preventScroll: true });
});

let names = new Map(); // item index -> how the shopper knows it
const asked = new Set(); // events whose availability the cart asked for

// renderCart draws the cart panel: each item with its departure and
// estimated price, the estimated total, the voucher code and the hold
// button.
export async function renderCart() {
  const items = state.items.slice();
  const panel = $("cart");
  const n = items.reduce((n, i) => n + (i.seats ? i.seats.length : i.quantity), 0);
  $("cart-count").textContent = n ? `(${n})` : "";
  $("cart-link").hidden = !n || !shown;
  // An empty order still has its place (beside the departure on a wide
  // screen), so the page does not move when the first ticket is picked.
  panel.hidden = !shown;
  panel.classList.toggle("empty", !items.length);
  if (!items.length || !shown) {
    $("cart-items").replaceChildren();
    return;
  }
  // An event that could not be read (the network) is shown by its id; one
  // that is no more, or has left, is taken out.
  const evs = await Promise.all(items.map((it) => eventOf(it.eventId).catch((err) => err.code === "not_found" ? null : { id: it.eventId })));
  if (items.length !== state.items.length || items.some((it, i) => it !== state.items[i])) return; // changed meanwhile: drawn again
  const gone = items.filter((it, i) => !evs[i] || started(evs[i]));
  if (gone.length) {
    state.items = state.items.filter((it) => !gone.includes(it));
    say("A departure in your order has left or is no longer sold, so it was taken out.", true);
    changed();
    return;
  }
  // Prices of departures the page has not read yet (the cart came from an
  // earlier visit) are read once, then the cart is drawn again.
  const missing = [...new Set(items.map((it) => it.eventId))].filter((id) => !lastAvailability(id) && !asked.has(id));
  if (missing.length) {
    missing.forEach((id) => asked.add(id));
    Promise.all(missing.map((id) => availabilityOf(id).catch(() => null))).then(() => renderCart());
  }
  const list = $("cart-items");
  list.replaceChildren();
  names = new Map();
  let total = 0, currency = "", mixed = false, priced = true;
  items.forEach((it, i) => {
    const ev = evs[i];
    const what = itemText(it);
    names.set(i, `${what}, ${ev.name || ev.id}`);
    const li = document.createElement("li");
    li.dataset.eventId = ev.id;
    if (!it.seats) li.dataset.category = it.category;
    const text = document.createElement("div");
    const strong = document.createElement("strong");
    strong.textContent = what;
    const sub = document.createElement("span");
    sub.className = "muted small";
    sub.textContent = `${ev.name || ev.id} · ${when(ev.startsAt, ev.timeZone)}`;
    const price = document.createElement("span");
    price.className = "amount";
    const a = amountOf(ev, it);
    if (a) {
      price.textContent = money(a.amount, a.currency);
      total += a.amount;
      if (currency && currency !== a.currency) mixed = true;
      currency = a.currency;
    } else priced = false;
    const rm = document.createElement("button");
    rm.type = "button";
    rm.className = "link";
    rm.textContent = "Remove";
    rm.setAttribute("aria-label", `Remove ${what}, ${ev.name || ev.id}`);
    rm.addEventListener("click", () => cart.remove(i));
    text.append(strong, sub, rm);
    li.append(text, price);
    list.append(li);
  });
  $("cart-total-line").hidden = !currency || !priced;
  $("cart-total").textContent = mixed ? "" : money(total, currency);
  $("cart-mixed").hidden = !mixed;
  const rooms = new Set(items.map((it) => it.eventId).filter((id) => gated.has(id)));
  $("cart-rooms").hidden = rooms.size < 2;
  const held = savedHold.get();
  const btn = $("hold-btn");
  btn.disabled = mixed || rooms.size > 1 || !!held;
  btn.textContent = held ? "Finish your held order first" : `Hold ${n === 1 ? "1 ticket" : n + " tickets"}`;
  $("cart-held").hidden = !held;
}

// The voucher code typed is kept with the cart (the field is the shopper's
// to change: the page writes it only when it loads).
$("voucher-code").value = state.voucher;
$("voucher-code").addEventListener("input", () => {
  state.voucher = $("voucher-code").value.trim();
  localStorage.setItem(KEY, JSON.stringify(state));
});

function holdItem(it) {
  if (it.seats) return { eventId: it.eventId, seats: it.seats };
  const item = { eventId: it.eventId, quantity: String(it.quantity) };
  if (it.category) item.category = it.category;
  return item;
}

// A hold whose outcome is unknown (the network failed) is asked again with
// the same idempotency key, so it is never placed twice.
let retry = { body: "", key: "" };

$("hold-btn").addEventListener("click", async () => {
  const items = state.items.slice();
  if (!items.length || savedHold.get()) return;
  const req = { items: items.map(holdItem) };
  const code = $("voucher-code").value.trim();
  if (code) req.voucherCode = code;
  const body = JSON.stringify(req);
  req.idempotencyKey = retry.body === body ? retry.key : newKey();
  const btn = $("hold-btn");
  btn.disabled = true;
  say("");
  try {
    const { hold } = await rpc("Hold", req, admissionHeaders(items.map((i) => i.eventId)));
    retry = { body: "", key: "" };
    savedHold.set(hold);
    cart.clear();
    $("voucher-code").value = "";
    location.hash = "#/checkout";
  } catch (err) {
    retry = ["network", "unavailable", "deadline_exceeded", "unknown"].includes(err.code) ? { body, key: req.idempotencyKey } : { body: "", key: "" };
    const itemNames = names;
    say(explain(err, (i) => itemNames.get(i) || ""), true);
    if (err.reason === "VOUCHER_NOT_VALID" || err.reason === "VOUCHER_UNKNOWN" || err.reason === "VOUCHER_USED_UP" || err.field.endsWith("voucher_code")) {
      $("voucher-code").focus();
    }
    // What was refused may have changed hands: read the events again.
    await Promise.all([...new Set(items.map((i) => i.eventId))].map((id) => availabilityOf(id).catch(() => null)));
    changed();
  } finally {
    btn.disabled = false;
    renderCart();
  }
});

cart.onChange(() => renderCart());
