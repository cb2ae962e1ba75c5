// A booking: its items, total and discount as booked, how it was paid and
// where the receipt goes.

import { rpc } from "./api.js";
import { eventOf } from "./catalog.js";
import { say, explain } from "./messages.js";
import { drawItems, drawTotals, itemsOf } from "./order.js";
import { bookingSecret } from "./saved.js";

const $ = (id) => document.getElementById(id);

// showBooking shows booking id.
export async function showBooking(id) {
  $("view-booking").hidden = false;
  $("booking").hidden = true;
  for (const f of ["booking-id", "booking-payment", "booking-email", "booking-status"]) $(f).textContent = "";
  $("booking-items").replaceChildren();
  try {
    const { booking: b } = await rpc("GetBooking", { bookingId: id, clientSecret: bookingSecret.get(id) });
    const items = itemsOf(b);
    const evs = await Promise.all(items.map((it) => eventOf(it.eventId).catch(() => ({ id: it.eventId }))));
    $("booking-id").textContent = b.id;
    drawItems($("booking-items"), items, evs, b.currency);
    drawTotals("booking", b);
    // Who holds only the booking's secret (not its owner's session) is not
    // shown how it was paid or where its receipt went: the edge leaves
    // them, and the owner's id, out.
    const owner = !!b.customerId;
    for (const id of ["booking-payment", "booking-email"]) {
      $(id).hidden = !owner;
      $(id).previousElementSibling.hidden = !owner;
    }
    $("booking-payment").textContent = b.paymentRef || "";
    $("booking-email").textContent = b.contactEmail || "no receipt asked for";
    $("booking-status").textContent = b.status === "BOOKING_STATUS_CANCELLED" ? "cancelled" : "confirmed";
    $("booking").hidden = false;
  } catch (err) {
    say(explain(err), true);
  }
}
