// Checking out a hold: what is held, each item at the price the server
// gave it, the voucher's discount and the total (the hold's own, never
// worked out here), the time left with a way to ask for more (ExtendHold,
// up to the hold's max_expires_at), and confirming with a payment
// reference. The hold is found again after a reload from what saved.js
// keeps.

import { rpc, newKey } from "./api.js";
import { eventOf } from "./catalog.js";
import { clock } from "./format.js";
import { say, explain } from "./messages.js";
import { drawItems, drawTotals, itemsOf } from "./order.js";
import { savedHold, bookingSecret } from "./saved.js";

const $ = (id) => document.getElementById(id);
// Extending asks for this much more time (the hold's cap permitting).
const EXTEND_BY_S = 600;
// ExtendHold takes a ttl of at most an hour.
const MAX_TTL_S = 3600;
// Extending is offered while the cap leaves at least this much to add.
const MIN_EXTEND_S = 60;

let current = null;

// showCheckout shows the saved hold and returns the function that stops it.
export function showCheckout() {
  $("view-checkout").hidden = false;
  $("hold-panel").hidden = true;
  $("checkout-none").hidden = true;
  const st = { hold: null, secret: "", stopped: false, timer: 0 };
  current = st;
  start(st).catch((err) => {
    say(explain(err), true);
    $("checkout-none").hidden = false;
  });
  return () => {
    st.stopped = true;
    clearInterval(st.timer);
    if (current === st) current = null;
  };
}

async function start(st) {
  const saved = savedHold.get();
  if (!saved) {
    $("checkout-none").hidden = false;
    return;
  }
  st.secret = saved.secret;
  let hold;
  try {
    ({ hold } = await rpc("GetHold", { holdId: saved.id, clientSecret: saved.secret }));
  } catch (err) {
    if (err.code === "not_found") {
      savedHold.drop();
      $("checkout-none").hidden = false;
      return;
    }
    throw err;
  }
  if (st.stopped) return;
  if (!ended(st, hold)) await show(st, hold);
}

// ended handles a hold that is no longer active and reports whether it was.
function ended(st, hold) {
  switch (hold.status) {
    case "HOLD_STATUS_ACTIVE":
      return false;
    case "HOLD_STATUS_CONFIRMED":
      savedHold.drop();
      bookingSecret.set(hold.bookingId, st.secret);
      location.hash = "#/booking/" + encodeURIComponent(hold.bookingId);
      return true;
    case "HOLD_STATUS_EXPIRED":
      say(explain({ reason: "HOLD_EXPIRED" }), true);
      break;
    default:
      say(explain({ reason: "HOLD_RELEASED" }), true);
  }
  closeHold(st);
  return true;
}

function closeHold(st) {
  savedHold.drop();
  clearInterval(st.timer);
  st.hold = null;
  $("hold-panel").hidden = true;
  $("checkout-none").hidden = false;
}

async function show(st, hold) {
  st.hold = hold;
  const panel = $("hold-panel");
  panel.dataset.holdId = hold.id;
  const items = itemsOf(hold);
  const evs = await Promise.all(items.map((it) => eventOf(it.eventId).catch(() => ({ id: it.eventId }))));
  if (st.stopped) return;
  drawItems($("hold-items"), items, evs, hold.currency);
  drawTotals("hold", hold);
  $("payment-ref").value = "";
  panel.hidden = false;
  showTime(st);
  clearInterval(st.timer);
  st.timer = setInterval(() => tick(st), 250);
  tick(st);
}

// showTime shows until when the hold lasts and whether it can last longer.
function showTime(st) {
  const h = st.hold;
  $("held-until").textContent = clock(h.expiresAt);
  const room = (Date.parse(h.maxExpiresAt) - Date.parse(h.expiresAt)) / 1000;
  const btn = $("extend-btn");
  btn.hidden = !h.maxExpiresAt;
  btn.disabled = !(room >= MIN_EXTEND_S);
  btn.textContent = room >= MIN_EXTEND_S ? `Need more time? Add ${Math.round(Math.min(EXTEND_BY_S, room) / 60)} minutes` : "This is the longest we can hold your tickets";
}

function tick(st) {
  if (!st.hold) return;
  const left = Math.max(0, Date.parse(st.hold.expiresAt) - Date.now());
  const s = Math.ceil(left / 1000);
  $("countdown").textContent = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  $("countdown").parentElement.classList.toggle("urgent", s <= 60);
  // At 00:00 the server says whether the hold ended (the browser's clock
  // may be off), every 2 s until it has.
  if (left <= 0 && Date.now() >= (st.nextCheck || 0)) {
    st.nextCheck = Date.now() + 2000;
    rpc("GetHold", { holdId: st.hold.id, clientSecret: st.secret }).then(({ hold }) => {
      if (st.stopped || !st.hold) return;
      if (!ended(st, hold)) st.hold = hold;
    }, () => {});
  }
}

$("extend-btn").addEventListener("click", async () => {
  const st = current;
  if (!st || !st.hold) return;
  const h = st.hold;
  const now = Date.now();
  const left = Math.max(0, (Date.parse(h.expiresAt) - now) / 1000);
  const cap = (Date.parse(h.maxExpiresAt) - now) / 1000 - 5; // a margin for the clocks' difference
  const ttl = Math.floor(Math.min(MAX_TTL_S, left + EXTEND_BY_S, cap));
  if (ttl < 1) return showTime(st);
  $("extend-btn").disabled = true;
  try {
    const { hold } = await rpc("ExtendHold", { holdId: h.id, ttl: `${ttl}s`, idempotencyKey: newKey(), clientSecret: st.secret });
    st.hold = hold;
    say(`Your tickets are held until ${clock(hold.expiresAt)}.`);
    tick(st);
  } catch (err) {
    say(explain(err), true);
    if (err.reason === "HOLD_EXPIRED" || err.reason === "HOLD_RELEASED") closeHold(st);
  } finally {
    if (st.hold) showTime(st);
  }
});

// A confirmation whose outcome is unknown (the network failed) is asked
// again with the same idempotency key, so it books at most once.
let retry = { body: "", key: "" };

$("confirm-btn").addEventListener("click", async () => {
  const st = current;
  if (!st || !st.hold) return;
  const ref = $("payment-ref").value.trim();
  if (!ref) {
    say("Enter a payment reference to confirm.", true);
    $("payment-ref").focus();
    return;
  }
  // Optional: where the receipt goes (the cluster checks it again).
  const email = $("contact-email").value.trim();
  if (email && !$("contact-email").checkValidity()) {
    say("Enter an e-mail address like name@example.com for the receipt, or leave it empty.", true);
    $("contact-email").focus();
    return;
  }
  const req = { holdId: st.hold.id, paymentRef: ref, clientSecret: st.secret };
  if (email) req.contactEmail = email;
  const body = JSON.stringify(req);
  req.idempotencyKey = retry.body === body ? retry.key : newKey();
  $("confirm-btn").disabled = true;
  try {
    const { booking } = await rpc("Confirm", req);
    retry = { body: "", key: "" };
    clearInterval(st.timer);
    savedHold.drop();
    bookingSecret.set(booking.id, st.secret);
    say("");
    location.hash = "#/booking/" + encodeURIComponent(booking.id);
  } catch (err) {
    retry = ["network", "unavailable", "deadline_exceeded", "unknown"].includes(err.code) ? { body, key: req.idempotencyKey } : { body: "", key: "" };
    say(explain(err), true);
    if (err.reason === "HOLD_EXPIRED" || err.reason === "HOLD_RELEASED") closeHold(st);
  } finally {
    $("confirm-btn").disabled = false;
  }
});

$("release-btn").addEventListener("click", async () => {
  const st = current;
  if (!st || !st.hold) return;
  try {
    await rpc("ReleaseHold", { holdId: st.hold.id, idempotencyKey: newKey(), clientSecret: st.secret });
    say("Let go. The tickets are back on sale.");
  } catch (err) {
    if (err.reason !== "HOLD_EXPIRED" && err.reason !== "HOLD_RELEASED") return say(explain(err), true);
  }
  closeHold(st);
});
