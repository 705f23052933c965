// Metrics: pick a metric, a quantile (histograms and summaries) and a label
// to group by; the series over the time range with every exemplar as a dot
// that opens its trace.

import { getJSON } from '../api.js';
import { seriesLabel, timeChart, toSeries } from '../chart.js';
import { clear, h, serviceColor } from '../dom.js';
import { fmtNumber, fmtValue } from '../format.js';
import { navigate, setParams, withRange } from '../router.js';

const QUANTILES = ['0.5', '0.9', '0.95', '0.99', '0.999'];
const MAX_SERIES = 30;
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#7f8fa6'];
const QUANTILED = new Set(['histogram', 'exponential_histogram', 'summary']);
const ID_LABEL = /^(trace[._-]?id|traceid|span[._-]?id|spanid)$/i;

export function metricsView(root, { params, range }) {
  const state = {
    name: params.get('name') || '',
    quantile: params.get('quantile') || '0.99',
    by: params.get('by') || 'service',
  };
  const nameSel = h('select', { id: 'm-name', 'aria-label': 'Metric' });
  const qSel = h('select', { id: 'm-quantile', 'aria-label': 'Quantile' }, QUANTILES.map((q) => h('option', { value: q }, `p${String(Number(q) * 100).replace(/\.0$/, '')}`)));
  qSel.value = state.quantile;
  const byList = h('datalist', { id: 'm-by-list' }, h('option', { value: 'service' }), h('option', { value: 'none' }));
  const byIn = h('input', { id: 'm-by', list: 'm-by-list', value: state.by, 'aria-label': 'Group by', placeholder: 'service' });
  const info = h('div', { class: 'metric-info' });
  const chartBox = h('div', { class: 'chart-box big' });
  const legend = h('div', { class: 'legend' });
  const note = h('div');
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Metrics')),
    h('form', { class: 'filters', onsubmit: (ev) => { ev.preventDefault(); apply(); } },
      h('label', { class: 'field-inline' }, h('span', null, 'Metric'), nameSel),
      h('label', { class: 'field-inline' }, h('span', null, 'Quantile'), qSel),
      h('label', { class: 'field-inline' }, h('span', null, 'Group by'), byIn, byList),
      h('button', { class: 'btn primary', type: 'submit' }, 'Show')),
    h('section', { class: 'card' }, info, note, chartBox, legend),
  );
  let metrics = [];
  let chart = null;
  let ctl = new AbortController();

  function apply() {
    state.name = nameSel.value;
    state.quantile = qSel.value;
    state.by = byIn.value.trim() || 'service';
    setParams({ name: state.name, quantile: state.quantile === '0.99' ? '' : state.quantile, by: state.by === 'service' ? '' : state.by });
    load();
  }
  nameSel.addEventListener('change', apply);
  qSel.addEventListener('change', apply);
  byIn.addEventListener('change', apply);

  getJSON('/api/v1/metrics', { start: range }, { signal: ctl.signal })
    .then((r) => {
      metrics = r.metrics;
      if (!metrics.length) {
        info.replaceChildren(h('p', { class: 'muted' }, 'No metrics in this time range.'));
        return;
      }
      for (const m of metrics) nameSel.append(h('option', { value: m.name }, `${m.name}  ·  ${m.type}${m.unit ? ` (${m.unit})` : ''}`));
      if (!state.name || !metrics.some((m) => m.name === state.name)) {
        state.name = (metrics.find((m) => m.name === 'http.server.request.duration') || metrics[0]).name;
      }
      nameSel.value = state.name;
      load();
    })
    .catch((e) => {
      if (e.name !== 'AbortError') info.replaceChildren(h('div', { class: 'error-box' }, `Could not list metrics: ${e.message}`));
    });

  async function load() {
    const m = metrics.find((x) => x.name === state.name);
    qSel.disabled = !m || !QUANTILED.has(m.type);
    ctl.abort();
    ctl = new AbortController();
    if (chart) chart.destroy();
    chart = null;
    clear(chartBox).append(h('div', { class: 'loading' }, 'Loading…'));
    clear(legend);
    clear(note);
    if (m) {
      info.replaceChildren(
        h('div', { class: 'mi-title' }, h('b', { class: 'mono' }, m.name), h('span', { class: 'badge' }, m.type), m.unit ? h('span', { class: 'badge' }, m.unit) : null,
          m.type === 'sum' ? h('span', { class: 'badge' }, `${m.monotonic ? 'monotonic' : 'non-monotonic'}, ${m.temporality}`) : null),
        m.description ? h('p', { class: 'muted small' }, m.description) : null,
        h('p', { class: 'muted small' }, `${fmtNumber(m.series_count)} series · ${fmtNumber(m.point_count)} points · ${fmtNumber(m.exemplar_count)} exemplars · from ${(m.services || []).join(', ') || '—'}`),
      );
    }
    try {
      const r = await getJSON(`/api/v1/metrics/${encodeURIComponent(state.name)}`, {
        start: range,
        quantile: qSel.disabled ? '' : state.quantile,
        by: state.by,
      }, { signal: ctl.signal });
      draw(r, m);
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(chartBox).append(h('div', { class: 'error-box' }, e.message));
    }
  }

  function draw(r, m) {
    clear(chartBox);
    const keys = new Set();
    for (const s of r.series) for (const k of Object.keys(s.labels || {})) keys.add(k);
    for (const e of r.exemplars) for (const k of Object.keys(e.labels || {})) keys.add(k);
    for (const k of keys) if (![...byList.options].some((o) => o.value === k)) byList.append(h('option', { value: k }));
    const idLabels = [...keys].filter((k) => ID_LABEL.test(k));
    if (idLabels.length) {
      note.append(h('div', { class: 'banner warn' }, `The label ${idLabels.join(', ')} holds trace or span ids: every request makes a new series. Put ids in exemplars, not in labels.`));
    }
    let series = r.series;
    if (series.length > MAX_SERIES) {
      const peak = (s) => Math.max(0, ...s.points.map((p) => (p.v === null ? 0 : Number(p.v))));
      series = [...series].sort((a, b) => peak(b) - peak(a)).slice(0, MAX_SERIES);
      note.append(h('p', { class: 'muted small' }, `Showing the ${MAX_SERIES} highest of ${r.series.length} series.`));
    }
    const colorOf = (labels, i) => (r.by === 'service' ? serviceColor(labels.service) : PALETTE[i % PALETTE.length]);
    const input = toSeries(series, () => '', seriesLabel).map((s, i) => ({ ...s, color: colorOf(series[i].labels, i) }));
    const exColor = (e) => {
      if (r.by === 'service') return serviceColor(e.service);
      const i = series.findIndex((s) => Object.entries(s.labels).every(([k, v]) => (e.labels || {})[k] === v || (k === 'service' && e.service === v)));
      return i >= 0 ? input[i].color : '#8a8f98';
    };
    const exemplars = r.exemplars.map((e) => ({ t: Number(e.time_unix_nano) / 1e9, v: Number(e.value), trace_id: e.trace_id, span_id: e.span_id, color: exColor(e), label: e.service }));
    chart = timeChart(chartBox, {
      series: input,
      exemplars,
      unit: r.unit || (m && m.unit),
      height: 320,
      xRange: [Number(r.start_unix_nano) / 1e9, Number(r.end_unix_nano) / 1e9],
      onExemplar: (e) => navigate(withRange(`/ui/trace/${e.trace_id}`, { focus: e.span_id })),
    });
    const title = r.quantile !== undefined && QUANTILED.has(r.type) ? `p${Number(r.quantile) * 100}` : r.type === 'sum' && m && m.monotonic ? 'rate per second' : 'value';
    legend.append(
      h('span', { class: 'muted small' }, `${title} · step ${Number(r.step_ns) / 1e9}s · ${exemplars.length} exemplar dot${exemplars.length === 1 ? '' : 's'}`),
      ...input.map((s) => {
        const vals = s.v.filter((v) => v !== null);
        return h('span', { class: 'legend-item' }, h('i', { style: { background: s.color } }), s.label, h('b', { class: 'num' }, fmtValue(vals.length ? vals[vals.length - 1] : null, r.unit)));
      }),
    );
  }

  return {
    destroy() {
      ctl.abort();
      if (chart) chart.destroy();
    },
  };
}
