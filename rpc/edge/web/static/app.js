// The bookd booking page, talking Connect (JSON) to the BookingService of
// the edge it came from. Hash routes: #/ (departures), #/event/<id>,
// #/checkout (the hold being paid for) and #/booking/<id>. The order being
// put together (cart.js) shows beside the departures until it is held.

import { rpc } from "./api.js";
import { renderCart, showCart } from "./cart.js";
import { showBooking } from "./booking.js";
import { showCheckout } from "./checkout.js";
import { showEvent } from "./event.js";
import { routed } from "./messages.js";
import { savedHold } from "./saved.js";
import { showSearch } from "./search.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["view-search", "view-event", "view-checkout", "view-booking"];

let stop = null; // the current view's stop function

function route() {
  if (stop) stop();
  stop = null;
  routed();
  for (const id of VIEWS) $(id).hidden = true;
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const shopping = parts[0] !== "checkout" && parts[0] !== "booking";
  $("resume").hidden = true;
  if (parts[0] === "event" && parts[1]) stop = showEvent(decodeURIComponent(parts[1]));
  else if (parts[0] === "checkout") stop = showCheckout();
  else if (parts[0] === "booking" && parts[1]) showBooking(decodeURIComponent(parts[1]));
  else showSearch();
  showCart(shopping);
  if (shopping) offerResume();
  window.scrollTo(0, 0);
}

// offerResume shows a way back to the checkout while a hold is active.
async function offerResume() {
  const saved = savedHold.get();
  if (!saved) return;
  try {
    const { hold } = await rpc("GetHold", { holdId: saved.id, clientSecret: saved.secret });
    if (hold.status !== "HOLD_STATUS_ACTIVE") {
      savedHold.drop();
      renderCart();
      return;
    }
    $("resume").hidden = location.hash.startsWith("#/checkout") || location.hash.startsWith("#/booking");
  } catch (err) {
    if (err.code === "not_found") {
      savedHold.drop();
      renderCart();
    }
  }
}

window.addEventListener("hashchange", route);
route();
