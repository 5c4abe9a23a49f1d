// A table body holding only the rows near the viewport, with one spacer row above and one below standing in for
// the rest: 1,000 or 10,000 rows cost what one screen does to build, lay out and update, so the page answers a
// keystroke at once whatever the number of rows. It stays a table: the table carries aria-rowcount (every row), each
// row its aria-rowindex, and the spacers are hidden from assistive technology. Rows may differ in height: each drawn
// row is measured, and rows never drawn count as the mean of those measured. Keyboard: Tab moves link by link; the
// browser scrolls a focused row into view and the window follows (rows within OVERSCAN_PX of the viewport are
// drawn, so the next row is always there to Tab to).
import { h } from "./dom.js";

const OVERSCAN_PX = 800;
const DEFAULT_ROW_PX = 40;

export class WindowedRows {
  readonly tbody: HTMLTableSectionElement;
  private keys: string[] = [];
  /** Rows in the DOM now, by key. */
  private drawn = new Map<string, HTMLTableRowElement>();
  private heights = new Map<string, number>();
  private measuredSum = 0;
  private readonly top: HTMLTableRowElement;
  private readonly bottom: HTMLTableRowElement;
  /** Rows drawn but not measured yet (new, redrawn in place, or drawn before the table was on the page). */
  private unmeasured = new Set<HTMLTableRowElement>();
  private frame = 0;
  private readonly onScroll = () => this.schedule();

  /** `build` makes the row of a key (undefined: the key is gone); `headerRows` counts the thead's rows. */
  constructor(
    private readonly table: HTMLTableElement,
    columns: number,
    private readonly build: (key: string) => HTMLTableRowElement | undefined,
    private readonly headerRows = 1,
  ) {
    this.top = spacer(columns);
    this.bottom = spacer(columns);
    this.tbody = h("tbody", null, this.top, this.bottom);
    table.appendChild(this.tbody);
    addEventListener("scroll", this.onScroll, { passive: true });
    addEventListener("resize", this.onScroll, { passive: true });
  }

  /** The keys to show, in order; `empty` is the row shown when there are none. Draws the window at once. */
  setKeys(keys: string[], empty?: HTMLTableRowElement): void {
    this.keys = keys;
    this.table.setAttribute("aria-rowcount", String(keys.length + this.headerRows));
    for (const el of [...this.tbody.children]) if (el !== this.top && el !== this.bottom && !(el as HTMLElement).dataset.key) el.remove();
    if (empty && keys.length === 0) this.tbody.insertBefore(empty, this.bottom);
    if (this.heights.size > 2 * keys.length + 1000) this.pruneHeights();
    this.render();
  }

  /** The row of `key` changed: redrawn if it is drawn (keeping focus on it), else drawn when scrolled to. */
  refresh(key: string): void {
    const old = this.drawn.get(key);
    if (!old) return;
    const row = this.build(key);
    if (!row) return this.setKeys(this.keys.filter((k) => k !== key));
    row.setAttribute("aria-rowindex", old.getAttribute("aria-rowindex") ?? "");
    const focused = old.contains(document.activeElement) ? [...old.querySelectorAll("a, button")].indexOf(document.activeElement as Element) : -1;
    old.replaceWith(row);
    this.drawn.set(key, row);
    this.unmeasured.add(row);
    if (focused >= 0) (row.querySelectorAll("a, button")[focused] as HTMLElement | undefined)?.focus({ preventScroll: true });
    this.schedule();
  }

  /** Whether the row of `key` is in the DOM now. */
  isDrawn(key: string): boolean {
    return this.drawn.has(key);
  }

  private schedule(): void {
    this.frame ||= requestAnimationFrame(() => {
      this.frame = 0;
      // The page was replaced (another route): stop following the window's scroll.
      if (!this.table.isConnected) {
        removeEventListener("scroll", this.onScroll);
        removeEventListener("resize", this.onScroll);
        return;
      }
      this.render();
    });
  }

  private height(key: string): number {
    return this.heights.get(key) ?? (this.heights.size ? this.measuredSum / this.heights.size : DEFAULT_ROW_PX);
  }

  /** The rows to draw: those within OVERSCAN_PX of the viewport, from where the body sits on the page now. */
  private range(): { first: number; end: number; above: number; below: number } {
    const rect = this.tbody.getBoundingClientRect();
    // Not on the page yet (the page is built before it is attached): as if the table started at the top.
    const start = this.table.isConnected ? -rect.top : 0;
    const from = start - OVERSCAN_PX;
    const to = start + innerHeight + OVERSCAN_PX;
    let y = 0;
    let first = -1;
    let end = this.keys.length;
    let above = 0;
    for (let i = 0; i < this.keys.length; i++) {
      const hgt = this.height(this.keys[i]!);
      if (first < 0 && y + hgt > from) {
        first = i;
        above = y;
      }
      if (y >= to) {
        end = i;
        break;
      }
      y += hgt;
    }
    if (first < 0) first = end = this.keys.length;
    let below = 0;
    for (let i = end; i < this.keys.length; i++) below += this.height(this.keys[i]!);
    return { first, end, above, below };
  }

  /** Draws the window: rows leaving it are removed, rows entering it built, rows staying kept (and their focus). */
  private render(): void {
    const { first, end, above, below } = this.range();
    const want = new Map<string, number>();
    for (let i = first; i < end; i++) want.set(this.keys[i]!, i);
    for (const [key, row] of this.drawn) {
      if (!want.has(key)) {
        row.remove();
        this.drawn.delete(key);
      }
    }
    let cursor: ChildNode = this.top.nextSibling!;
    for (const [key, i] of want) {
      let row = this.drawn.get(key);
      if (!row) {
        row = this.build(key);
        if (!row) continue;
        this.drawn.set(key, row);
        this.unmeasured.add(row);
      }
      row.setAttribute("aria-rowindex", String(i + 1 + this.headerRows));
      // Rows keep their order: one already in place stays (a focused link keeps its focus); others are inserted.
      if (row === cursor) cursor = row.nextSibling!;
      else this.tbody.insertBefore(row, cursor);
    }
    const measured = this.measure();
    setHeight(this.top, above);
    setHeight(this.bottom, below);
    // New measurements change the estimate of the rows not drawn: draw again with it (this converges: the next pass
    // measures only the rows it adds). The table not on the page yet: draw again once it is.
    if (measured || !this.table.isConnected) this.schedule();
  }

  /** Measures the drawn rows not measured yet; how many were. */
  private measure(): number {
    let n = 0;
    for (const row of this.unmeasured) {
      const key = row.dataset.key;
      if (!key || this.drawn.get(key) !== row) {
        this.unmeasured.delete(row); // replaced or gone
        continue;
      }
      const hgt = row.getBoundingClientRect().height;
      if (!hgt) continue; // not laid out yet (the table is not on the page): measured in a later pass
      this.unmeasured.delete(row);
      this.measuredSum += hgt - (this.heights.get(key) ?? 0);
      this.heights.set(key, hgt);
      n++;
    }
    return n;
  }

  private pruneHeights(): void {
    const keep = new Set(this.keys);
    for (const [k, v] of this.heights) {
      if (keep.has(k)) continue;
      this.heights.delete(k);
      this.measuredSum -= v;
    }
  }
}

function spacer(columns: number): HTMLTableRowElement {
  const row = h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", { colspan: columns }));
  row.hidden = true;
  return row;
}

/** Set through the CSSOM (the Content-Security-Policy forbids style attributes). */
function setHeight(row: HTMLTableRowElement, px: number): void {
  row.hidden = px <= 0;
  (row.firstElementChild as HTMLElement).style.height = `${px}px`;
}
