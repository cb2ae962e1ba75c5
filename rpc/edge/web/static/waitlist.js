// The waitlist of a sold-out departure: the shopper joins for a number of
// tickets (of a category, when the event has them), sees their place in
// line, and when tickets come back the cluster holds them for the first
// in line: the page then takes the shopper to that hold's checkout.

import { rpc, newKey } from "./api.js";
import { gaCategories } from "./catalog.js";
import { title } from "./format.js";
import { say, sayNext, explain } from "./messages.js";
import { savedEntry, savedHold } from "./saved.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000;

// current is the event the panel acts for.
let current = null;

// showWaitlist fills the waitlist panel for st's sold-out event: the join
// form, or the shopper's place once joined. It polls the entry while
// !st.stopped.
export async function showWaitlist(st) {
  current = st;
  $("waitlist").hidden = false;
  const select = $("waitlist-category");
  const cats = gaCategories(st.event).filter((c) => c.name);
  $("waitlist-category-field").hidden = cats.length === 0;
  if (select.dataset.eventId !== st.eventId) {
    select.dataset.eventId = st.eventId;
    select.replaceChildren(...cats.map((c) => new Option(title(c.name), c.name)));
  }
  const saved = savedEntry.get(st.eventId);
  if (!saved) return showJoin(true);
  await check(st, saved);
}

function showJoin(on) {
  $("waitlist-join").hidden = !on;
  $("waitlist-status").hidden = on;
  $("leave-waitlist-btn").hidden = on;
}

// check reads the shopper's entry and shows it; it reports whether the
// shopper is still waiting.
async function check(st, saved) {
  let res;
  try {
    res = await rpc("GetWaitlistEntry", { entryId: saved.id, clientSecret: saved.secret });
  } catch (err) {
    if (err.code === "not_found") {
      savedEntry.drop(st.eventId);
      showJoin(true);
    }
    return false;
  }
  if (st.stopped) return false;
  const e = res.entry;
  $("waitlist").dataset.entryId = e.id;
  switch (e.status) {
    case "WAITLIST_STATUS_WAITING":
      $("waitlist-status").textContent = `You're on the waitlist: number ${res.position || 1} in line. We'll hold tickets for you when some come back; keep this page open or come back later.`;
      showJoin(false);
      clearTimeout(st.waitlistTimer);
      st.waitlistTimer = setTimeout(() => { if (!st.stopped) check(st, saved); }, POLL_MS);
      return true;
    case "WAITLIST_STATUS_OFFERED":
      savedEntry.drop(st.eventId);
      if (!savedHold.get()) savedHold.set({ id: e.holdId, secret: saved.secret });
      sayNext("Good news: tickets came back and are held for you. Confirm them before the time runs out.");
      location.hash = "#/checkout";
      return false;
    default:
      savedEntry.drop(st.eventId);
      showJoin(true);
      return false;
  }
}

$("waitlist-btn").addEventListener("click", async () => {
  const st = current;
  if (!st) return;
  const qty = Math.floor(Number($("waitlist-qty").value));
  if (!(qty >= 1)) {
    say("Enter how many tickets you want, 1 or more.", true);
    $("waitlist-qty").focus();
    return;
  }
  const req = { eventId: st.eventId, quantity: String(qty), idempotencyKey: newKey() };
  if (!$("waitlist-category-field").hidden) req.category = $("waitlist-category").value;
  $("waitlist-btn").disabled = true;
  try {
    const { entry } = await rpc("JoinWaitlist", req);
    savedEntry.set(st.eventId, entry);
    say("");
    await check(st, savedEntry.get(st.eventId));
  } catch (err) {
    say(explain(err), true);
  } finally {
    $("waitlist-btn").disabled = false;
  }
});

$("leave-waitlist-btn").addEventListener("click", async () => {
  const st = current;
  const saved = st && savedEntry.get(st.eventId);
  if (!saved) return;
  try {
    await rpc("LeaveWaitlist", { entryId: saved.id, clientSecret: saved.secret, idempotencyKey: newKey() });
    say("You left the waitlist.");
  } catch (err) {
    if (err.reason !== "NOT_WAITING") return say(explain(err), true);
  }
  savedEntry.drop(st.eventId);
  clearTimeout(st.waitlistTimer);
  showJoin(true);
});
