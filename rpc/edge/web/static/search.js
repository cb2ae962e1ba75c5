// The departures on sale: those that have not left, by start time,
// searched by date (the departure's own date, in its time zone) and name,
// each with what is left and its lowest price now.

import { rpc } from "./api.js";
import { remember, started, freeCount, currencyOf } from "./catalog.js";
import { money, when, dateIn } from "./format.js";
import { say, explain } from "./messages.js";

const $ = (id) => document.getElementById(id);
// The list shows at most this many departures (each card reads its
// availability).
const MAX_SHOWN = 50;
// The most departures the page reads.
const MAX_READ = 5000;

let all = [];

// load reads the departures that have not left. The listing asks for
// those starting from the current minute on (a bound many shoppers share,
// so the edge's cache answers them) and the page drops any that left
// since.
async function load() {
  const minute = new Date(Math.floor(Date.now() / 60000) * 60000).toISOString();
  const events = [];
  let token = "";
  do {
    const page = await rpc("ListEvents", { pageSize: 1000, pageToken: token, startsAfter: minute });
    events.push(...(page.events || []));
    token = page.nextPageToken || "";
  } while (token && events.length < MAX_READ);
  remember(events);
  all = events;
}

// showSearch shows the search form and the departures found.
export function showSearch() {
  $("view-search").hidden = false;
  load().then(render, (err) => say(explain(err), true));
}

$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (location.hash !== "#/" && location.hash !== "") location.hash = "#/";
  else load().then(render, (err) => say(explain(err), true));
});

function render() {
  const date = $("search-date").value;
  const text = $("search-text").value.trim().toLowerCase();
  const found = all.filter((ev) => ev.startsAt && !started(ev) &&
    (!date || dateIn(ev.startsAt, ev.timeZone) === date) &&
    (!text || (ev.name || "").toLowerCase().includes(text)));
  found.sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
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
    const at = document.createElement("time");
    at.className = "muted when";
    at.dateTime = ev.startsAt;
    at.textContent = when(ev.startsAt, ev.timeZone);
    const left = document.createElement("span");
    left.className = "left";
    a.append(name, at, left);
    li.append(a);
    list.append(li);
    rpc("GetAvailability", { eventId: ev.id }).then((av) => {
      const n = freeCount(av);
      const prices = (av.categories || []).map((c) => Number(c.price || 0));
      const from = n > 0 && prices.length && currencyOf(ev) ? ` · from ${money(Math.min(...prices), currencyOf(ev))}` : "";
      left.textContent = n === 0 ? "Sold out" : `${n} left${from}`;
      left.classList.toggle("none", n === 0);
    }, () => {});
  }
}
