// Time-series charts (uPlot) with exemplar dots: every exemplar is drawn at
// its time and value; hovering one shows it, clicking it opens its trace.
// The dots live on the chart's canvas, so thousands of them stay cheap.

import uPlot from 'uplot';
import { cssVar, h } from './dom.js';
import { fmtClock, fmtTick, fmtValue } from './format.js';

const HIT_PX = 7;

function axisColors() {
  return { text: cssVar('--muted') || '#666', grid: cssVar('--grid') || 'rgba(128,128,128,.15)' };
}

// series: [{label, color, t: [unix s], v: [number|null]}]; exemplars:
// [{t (unix s), v, trace_id, span_id, color, label}].
export function timeChart(container, { series, exemplars = [], unit, height = 180, onExemplar, xRange }) {
  const xs = [...new Set(series.flatMap((s) => s.t))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const data = [xs];
  for (const s of series) {
    const col = new Array(xs.length).fill(null);
    s.t.forEach((t, i) => {
      col[index.get(t)] = s.v[i];
    });
    data.push(col);
  }
  let ymax = 0;
  for (const s of series) for (const v of s.v) if (v !== null && v > ymax) ymax = v;
  for (const e of exemplars) if (e.v > ymax) ymax = e.v;
  if (ymax <= 0) ymax = 1;

  const colors = axisColors();
  let hover = -1;
  const tip = h('div', { class: 'chart-tip', hidden: true });
  const wrap = h('div', { class: 'chart' });
  container.append(wrap);

  const drawExemplars = (u) => {
    const ctx = u.ctx;
    const r = 3.2 * devicePixelRatio;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    ctx.lineWidth = 1.2 * devicePixelRatio;
    ctx.strokeStyle = cssVar('--panel') || '#fff';
    exemplars.forEach((e, i) => {
      const x = u.valToPos(e.t, 'x', true);
      const y = u.valToPos(e.v, 'y', true);
      ctx.beginPath();
      ctx.fillStyle = e.color;
      ctx.arc(x, y, i === hover ? r * 1.8 : r, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    });
    ctx.restore();
  };

  const opts = {
    width: Math.max(200, container.clientWidth || 600),
    height,
    legend: { show: false },
    cursor: { points: { show: false }, drag: { x: false, y: false } },
    padding: [8, 12, 0, 0],
    scales: {
      x: { time: true, ...(xRange ? { range: () => xRange } : {}) },
      y: { range: () => [0, ymax * 1.12] },
    },
    axes: [
      {
        stroke: colors.text,
        grid: { stroke: colors.grid, width: 1 },
        ticks: { show: false },
        font: '11px system-ui',
        space: 70,
        values: (u, vals) => {
          const span = u.scales.x.max - u.scales.x.min;
          return vals.map((v) => fmtTick(v, span));
        },
      },
      {
        stroke: colors.text,
        grid: { stroke: colors.grid, width: 1 },
        ticks: { show: false },
        size: 64,
        font: '11px system-ui',
        values: (u, vals) => vals.map((v) => fmtValue(v, unit)),
      },
    ],
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 1.6,
        spanGaps: true, // an empty step means no export in it, not a zero
        points: { show: false },
        value: (u, v) => fmtValue(v, unit),
      })),
    ],
    hooks: { draw: [drawExemplars] },
  };
  const u = new uPlot(opts, data, wrap);
  wrap.append(tip);

  const nearest = (cx, cy) => {
    let best = -1;
    let bestD = HIT_PX * HIT_PX;
    exemplars.forEach((e, i) => {
      const dx = u.valToPos(e.t, 'x') - cx;
      const dy = u.valToPos(e.v, 'y') - cy;
      const d = dx * dx + dy * dy;
      if (d <= bestD) {
        bestD = d;
        best = i;
      }
    });
    return best;
  };

  // Listen on the whole chart, not only the plot area, so dots on its edges
  // (a value of 0 sits on the x axis) can be hovered and clicked too.
  const local = (ev) => {
    const r = u.over.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  wrap.addEventListener('mousemove', (ev) => {
    const i = nearest(...local(ev));
    if (i !== hover) {
      hover = i;
      u.redraw(false);
    }
    wrap.style.cursor = i >= 0 ? 'pointer' : '';
    if (i >= 0) {
      const e = exemplars[i];
      tip.hidden = false;
      tip.replaceChildren(
        h('b', null, fmtValue(e.v, unit)),
        ` ${e.label ? `${e.label} · ` : ''}${fmtClock(e.t * 1e9)}`,
        h('div', { class: 'mono' }, `trace ${e.trace_id.slice(0, 16)}…`),
        h('div', { class: 'muted' }, 'click to open the trace'),
      );
      const left = u.valToPos(e.t, 'x') + u.over.offsetLeft;
      const top = u.valToPos(e.v, 'y') + u.over.offsetTop;
      tip.style.left = `${Math.min(left + 10, wrap.clientWidth - 220)}px`;
      tip.style.top = `${Math.max(0, top - 60)}px`;
    } else {
      tip.hidden = true;
    }
  });
  wrap.addEventListener('mouseleave', () => {
    tip.hidden = true;
    if (hover >= 0) {
      hover = -1;
      u.redraw(false);
    }
  });
  wrap.addEventListener('click', (ev) => {
    const i = nearest(...local(ev));
    if (i >= 0 && onExemplar) onExemplar(exemplars[i]);
  });

  // Where each dot is on screen (for keyboard-less checks and tests).
  wrap.exemplarPoints = () => {
    const r = u.over.getBoundingClientRect();
    return exemplars.map((e) => ({
      x: r.left + u.valToPos(e.t, 'x'),
      y: r.top + u.valToPos(e.v, 'y'),
      value: e.v,
      trace_id: e.trace_id,
      span_id: e.span_id,
      label: e.label,
    }));
  };

  const ro = new ResizeObserver(() => {
    const w = container.clientWidth;
    if (w > 0 && Math.abs(w - u.width) > 2) u.setSize({ width: w, height });
  });
  ro.observe(container);
  return {
    el: wrap,
    destroy() {
      ro.disconnect();
      u.destroy();
    },
  };
}

// Converts a /api/v1/metrics/{name} series to chart input.
export function toSeries(apiSeries, colorOf, labelOf) {
  return apiSeries.map((s) => ({
    label: labelOf(s.labels),
    color: colorOf(s.labels),
    t: s.points.map((p) => Number(p.t) / 1e9),
    v: s.points.map((p) => (p.v === null || p.v === undefined ? null : Number(p.v))),
  }));
}

export function seriesLabel(labels) {
  const entries = Object.entries(labels || {});
  if (!entries.length) return 'all';
  return entries.map(([k, v]) => (entries.length === 1 ? String(v) : `${k}=${v}`)).join(', ');
}
