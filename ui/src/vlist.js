// A virtualized list: rows of one fixed height, only the visible ones (plus
// a margin) in the DOM, recycled while scrolling, so 100,000 rows scroll as
// smoothly as 100. The caller renders a row into a recycled element.

export class VList {
  constructor(container, { rowHeight, renderRow, overscan = 12 }) {
    this.el = container;
    this.rowHeight = rowHeight;
    this.renderRow = renderRow;
    this.overscan = overscan;
    this.count = 0;
    this.pool = [];
    this.shown = new Map(); // index -> element
    this.el.classList.add('vlist');
    this.spacer = document.createElement('div');
    this.spacer.className = 'vlist-spacer';
    this.el.append(this.spacer);
    this.pending = false;
    this.onScrollEnd = null;
    this.el.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.ro = new ResizeObserver(() => this.schedule());
    this.ro.observe(this.el);
  }

  setCount(n, { keepRows = false } = {}) {
    this.count = n;
    this.spacer.style.height = `${n * this.rowHeight}px`;
    if (!keepRows) this.invalidate();
    this.render();
  }

  // Forget rendered rows (their data changed) and draw again.
  invalidate() {
    for (const el of this.shown.values()) this.release(el);
    this.shown.clear();
  }

  // A recycled element keeps no row content, so queries of the DOM only
  // ever see rows on screen.
  release(el) {
    el.style.display = 'none';
    el.className = 'vrow pooled';
    el.replaceChildren();
    delete el.dataset.index;
    this.pool.push(el);
  }

  refresh() {
    this.invalidate();
    this.render();
  }

  scrollToIndex(i) {
    this.el.scrollTop = Math.max(0, i * this.rowHeight - this.el.clientHeight / 3);
    this.render();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    const rh = this.rowHeight;
    const top = this.el.scrollTop;
    const height = this.el.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / rh) - this.overscan);
    const last = Math.min(this.count, Math.ceil((top + height) / rh) + this.overscan);
    for (const [i, el] of this.shown) {
      if (i < first || i >= last) {
        this.release(el);
        this.shown.delete(i);
      }
    }
    for (let i = first; i < last; i++) {
      if (this.shown.has(i)) continue;
      let el = this.pool.pop();
      if (!el) {
        el = document.createElement('div');
        this.el.append(el);
      }
      el.style.display = '';
      el.style.transform = `translateY(${i * rh}px)`;
      el.style.height = `${rh}px`;
      this.renderRow(el, i);
      el.classList.add('vrow');
      el.dataset.index = String(i);
      this.shown.set(i, el);
    }
    if (this.onScrollEnd && this.count > 0 && last >= this.count && top > 0) this.onScrollEnd();
  }

  destroy() {
    this.ro.disconnect();
  }
}
