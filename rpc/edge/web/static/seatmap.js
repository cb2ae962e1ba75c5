// The seat map, drawn as a grid: the stage (the front) on top, each
// section's rows front row first, each row's label outside its seats on
// both sides, and each seat in its numbered column, so gaps and blocked
// seats keep the shape of the room. A seat that is not for sale looks
// unlike one someone else has, and neither can be picked. A seat's row,
// category and price show on hover (its title) and, for touch, in a small
// tip when it is tapped or focused.

import { seatCategory, priceNow } from "./catalog.js";
import { money, title } from "./format.js";

// layout is the event's seats as sections of rows of {n, label, blocked}:
// the seat map's, then seats given by label, in rows by their leading
// letters ("AA12" is seat 12 of row AA).
export function layout(ev) {
  const sections = [];
  const mapped = new Set();
  for (const s of ev.sections || []) {
    const rows = (s.rows || []).map((r) => ({
      name: r.name,
      seats: Array.from({ length: Number(r.seats || 0) }, (_, i) => ({
        n: i + 1, label: `${s.name}-${r.name}-${i + 1}`, blocked: (r.blocked || []).includes(i + 1),
      })),
    }));
    rows.forEach((r) => r.seats.forEach((x) => mapped.add(x.label)));
    sections.push({ name: s.name, rows });
  }
  const loose = (ev.seats || []).filter((l) => !mapped.has(l));
  if (loose.length) {
    const rows = new Map();
    for (const label of loose) {
      const m = /^(.*?)([0-9]+)$/.exec(label);
      const row = m && m[1] ? m[1].replace(/-$/, "") : "";
      if (!rows.has(row)) rows.set(row, []);
      const seats = rows.get(row);
      seats.push({ n: m && m[1] ? Number(m[2]) : seats.length + 1, label, blocked: false });
    }
    sections.push({ name: "", rows: [...rows].map(([name, seats]) => ({ name, seats })) });
  }
  return sections;
}

// SeatMap draws an event's seats into an element once, and paints them as
// availability changes (so focus and the tip stay where they are).
export class SeatMap {
  constructor(el, tip, ev, onToggle) {
    this.el = el;
    this.tip = tip;
    this.ev = ev;
    this.buttons = new Map();
    el.replaceChildren();
    const stage = document.createElement("div");
    stage.className = "stage";
    stage.textContent = "Stage";
    el.append(stage);
    for (const sec of layout(ev)) {
      if (sec.name) {
        const h = document.createElement("h3");
        h.className = "section-name";
        h.textContent = title(sec.name);
        el.append(h);
      }
      const cols = Math.max(1, ...sec.rows.flatMap((r) => r.seats.map((s) => s.n)));
      const grid = document.createElement("div");
      grid.className = "seat-grid";
      grid.dataset.section = sec.name;
      grid.style.setProperty("--cols", String(cols));
      grid.style.gridTemplateColumns = `var(--row-label) repeat(${cols}, var(--seat)) var(--row-label)`;
      sec.rows.forEach((r, i) => {
        const line = i + 1;
        const name = r.name || "#";
        for (const side of ["left", "right"]) {
          const label = document.createElement("span");
          label.className = "row-label " + side;
          label.textContent = name;
          label.dataset.row = name;
          label.style.gridRow = String(line);
          label.style.gridColumn = side === "left" ? "1" : String(cols + 2);
          if (side === "right") label.setAttribute("aria-hidden", "true");
          grid.append(label);
        }
        for (const s of r.seats) {
          const b = document.createElement("button");
          b.type = "button";
          b.className = "seat";
          b.dataset.seat = s.label;
          b.dataset.row = name;
          b.textContent = String(s.n);
          b.style.gridRow = String(line);
          b.style.gridColumn = String(s.n + 1);
          b.blocked = s.blocked;
          b.where = `${sec.name ? title(sec.name) + ", row" : "Row"} ${name}, seat ${s.n}`;
          b.addEventListener("click", () => {
            if (b.disabled) return;
            onToggle(s.label);
            this.showTip(b);
          });
          b.addEventListener("pointerenter", (e) => e.pointerType !== "touch" && this.showTip(b));
          b.addEventListener("pointerleave", (e) => e.pointerType !== "touch" && this.hideTip());
          b.addEventListener("focus", () => this.showTip(b));
          b.addEventListener("blur", () => this.hideTip());
          this.buttons.set(s.label, b);
          grid.append(b);
        }
      });
      el.append(grid);
    }
  }

  // paint shows each seat free, picked (in selected), taken or blocked,
  // with its category and price from av.
  paint(av, selected) {
    const free = new Set(av.freeSeats || []);
    for (const [label, b] of this.buttons) {
      const state = b.blocked ? "blocked" : !free.has(label) ? "taken" : selected.has(label) ? "selected" : "free";
      b.className = "seat " + state;
      b.disabled = state === "blocked" || state === "taken";
      b.setAttribute("aria-pressed", String(state === "selected"));
      const cat = seatCategory(this.ev, label);
      const p = cat ? priceNow(this.ev, av, cat) : null;
      b.dataset.category = cat;
      const price = p ? `${title(cat)} · ${money(p.price, p.currency)}` : "";
      const status = { blocked: "not for sale", taken: "taken", selected: "yours", free: "" }[state];
      b.tipText = [b.where, price, status].filter(Boolean).join(" · ");
      b.title = b.tipText;
      b.setAttribute("aria-label", b.tipText);
    }
    if (this.tipFor) this.showTip(this.tipFor);
  }

  showTip(b) {
    this.tipFor = b;
    this.tip.textContent = b.tipText || "";
    this.tip.hidden = false;
    const box = this.tip.offsetParent ? this.tip.offsetParent.getBoundingClientRect() : { left: 0, top: 0, width: innerWidth };
    const r = b.getBoundingClientRect();
    const w = this.tip.offsetWidth;
    const left = Math.min(Math.max(0, r.left - box.left + r.width / 2 - w / 2), Math.max(0, box.width - w));
    this.tip.style.left = `${left}px`;
    this.tip.style.top = `${r.top - box.top - this.tip.offsetHeight - 6}px`;
  }

  hideTip() {
    this.tipFor = null;
    this.tip.hidden = true;
  }
}
