// Overview: per service request rate, error rate, p99 latency, log volume
// and trace-id coverage (red below the correlation threshold, a link to the
// Correlation page); a p99 latency chart per service with every exemplar as
// a dot (click: its trace); the newest traces with errors.

import { getJSON, rangeSeconds } from '../api.js';
import { timeChart, toSeries } from '../chart.js';
import { clear, h, serviceChip, serviceColor } from '../dom.js';
import { fmtAgo, fmtClock, fmtDurationNs, fmtNumber, fmtPercent, fmtRate, fmtSeconds } from '../format.js';
import { navigate, withRange } from '../router.js';

// Metric names the overview reads (OpenTelemetry HTTP semantic conventions
// for latency; the request and error counters are what `braid demo` sends).
const LATENCY = 'http.server.request.duration';
const REQUESTS = 'http.server.requests';
const ERRORS = 'http.server.errors';
const REFRESH_MS = 30000;
// The daemon's default; its report carries the threshold in force.
const COVERAGE_THRESHOLD = 0.5;

const optional = (p) => p.catch((err) => (err.status === 404 ? null : Promise.reject(err)));

function bySvc(resp, reduce) {
  const out = new Map();
  if (!resp) return out;
  for (const s of resp.series) {
    const vals = s.points.map((p) => p.v).filter((v) => v !== null && v !== undefined).map(Number);
    if (vals.length) out.set(s.labels.service, reduce(vals));
  }
  return out;
}
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const max = (a) => Math.max(...a);

export function overviewView(root, { range }) {
  const secs = rangeSeconds(range);
  const body = h('div', { class: 'stack' });
  const status = h('span', { class: 'muted small' });
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Overview'), h('span', { class: 'spacer' }), status),
    body,
  );
  const charts = [];
  let timer = null;
  let ctl = null;

  async function load() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const signal = ctl.signal;
    status.textContent = 'loading…';
    // Charts: about 100 steps, none shorter than 10 s so that metrics
    // exported every few seconds leave no empty steps. The table's p99 is
    // one step over the whole range; its rates average the steps with data.
    const step = `${Math.max(10, Math.ceil(secs / 100))}s`;
    const whole = `${secs}s`;
    try {
      const [svc, lat, req, err, latAll, errs, corr] = await Promise.all([
        getJSON('/api/v1/services', { start: range }, { signal }),
        optional(getJSON(`/api/v1/metrics/${LATENCY}`, { start: range, quantile: 0.99, by: 'service', step }, { signal })),
        optional(getJSON(`/api/v1/metrics/${REQUESTS}`, { start: range, by: 'service', step }, { signal })),
        optional(getJSON(`/api/v1/metrics/${ERRORS}`, { start: range, by: 'service', step }, { signal })),
        optional(getJSON(`/api/v1/metrics/${LATENCY}`, { start: range, quantile: 0.99, by: 'service', step: whole }, { signal })),
        getJSON('/api/v1/traces', { status: 'error', start: range, limit: 10 }, { signal }),
        // Without a report (correlation health off: 404) coverage is judged alone.
        getJSON('/api/v1/correlation', { start: range }, { signal }).catch((e) => (e.name === 'AbortError' ? Promise.reject(e) : null)),
      ]);
      draw(svc.services, lat, bySvc(req, mean), bySvc(err, mean), bySvc(latAll, max), errs.traces, correlation(corr));
      status.textContent = `updated ${fmtClock(Date.now() * 1e6).slice(0, 8)}`;
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(body).append(h('div', { class: 'error-box' }, `Could not load the overview: ${e.message}`));
      status.textContent = '';
    }
  }

  function draw(services, lat, rate, errRate, p99, errorTraces, corr) {
    for (const c of charts.splice(0)) c.destroy();
    clear(body);
    if (!services.length) {
      body.append(
        h('div', { class: 'empty card' },
          h('h2', null, 'No data in this time range'),
          h('p', null, 'Send telemetry to braid over OTLP (HTTP on :4318, gRPC on :4317), or run ', h('code', null, 'braid demo'), ' next to ', h('code', null, 'braid serve'), '.'),
        ),
      );
      return;
    }
    body.append(servicesCard(services, rate, errRate, p99, corr));
    body.append(latencyCard(lat, charts));
    body.append(errorTracesCard(errorTraces));
  }

  load();
  timer = setInterval(() => {
    if (!document.hidden) load();
  }, REFRESH_MS);
  return {
    destroy() {
      clearInterval(timer);
      if (ctl) ctl.abort();
      for (const c of charts) c.destroy();
    },
  };
}

// What the overview needs of a correlation report: the coverage threshold
// and, per service, its coverage and whether it emits spans (coverage is
// judged only there). Null without a usable report.
function correlation(r) {
  if (!r || !Array.isArray(r.services) || !r.thresholds) return null;
  return { threshold: r.thresholds.coverage, services: new Map(r.services.map((s) => [s.service, s])) };
}

function servicesCard(services, rate, errRate, p99, corr) {
  const threshold = corr ? corr.threshold : COVERAGE_THRESHOLD;
  const rows = services.map((s) => {
    const r = rate.get(s.name);
    const e = errRate.get(s.name);
    const er = r && e !== undefined ? e / r : r ? 0 : null;
    const c = corr ? corr.services.get(s.name) : null;
    const cov = c && c.coverage !== null && c.coverage !== undefined ? c.coverage : s.coverage;
    const judged = c ? c.emits_spans : s.spans > 0;
    return h('tr', { 'data-service': s.name },
      h('td', null, h('a', { href: withRange('/ui/logs', { service: s.name }) }, serviceChip(s.name))),
      h('td', { class: 'num' }, fmtRate(r)),
      h('td', { class: `num ${er > 0.05 ? 'bad' : er > 0.01 ? 'warnc' : ''}` }, er === null ? '—' : fmtPercent(er)),
      h('td', { class: `num ${p99.get(s.name) > 0.5 ? 'bad' : ''}` }, fmtSeconds(p99.get(s.name))),
      h('td', { class: 'num' }, fmtNumber(s.logs)),
      h('td', { class: 'num' }, fmtNumber(s.spans)),
      h('td', null, h('a', { class: 'cov-link', href: withRange('/ui/correlation', { service: s.name }), title: 'correlation health of this service' },
        coverageBar(cov, s.logs, { threshold, judged }))),
    );
  });
  return h('section', { class: 'card' },
    h('div', { class: 'card-head' }, h('h2', null, 'Services'),
      h('span', { class: 'muted small' }, `over the selected range · coverage: share of log records that carry a trace id, red below ${fmtPercent(threshold, 0)} in services that emit spans`),
      h('span', { class: 'spacer' }), h('a', { href: withRange('/ui/correlation'), class: 'small' }, 'correlation →')),
    h('table', { class: 'grid services' },
      h('thead', null, h('tr', null,
        h('th', null, 'Service'), h('th', { class: 'num' }, 'Requests'), h('th', { class: 'num' }, 'Errors'),
        h('th', { class: 'num' }, 'p99'), h('th', { class: 'num' }, 'Logs'), h('th', { class: 'num' }, 'Spans'),
        h('th', null, 'Trace-id coverage'))),
      h('tbody', null, rows)),
  );
}

// Trace-id coverage as a bar. Below `threshold` it is a fault, but only in a
// service that emits spans (`judged`): elsewhere logs have no trace to join.
export function coverageBar(cov, logs, { threshold = COVERAGE_THRESHOLD, judged = true } = {}) {
  if (cov === null || cov === undefined || !logs) return h('span', { class: 'muted' }, 'no logs');
  const below = judged && cov < threshold;
  const cls = !judged ? 'na' : below ? 'bad below' : cov < 0.9 ? 'warnc' : 'good';
  const title = `${fmtPercent(cov)} of log records carry a trace id${below ? `: below the ${fmtPercent(threshold, 0)} threshold` : judged ? '' : ' (not judged: the service emits no spans)'}`;
  return h('div', { class: `cov ${cls}`, title },
    h('div', { class: 'cov-track' }, h('div', { class: 'cov-fill', style: { width: `${Math.round(cov * 100)}%` } })),
    h('span', { class: 'num' }, fmtPercent(cov, 0)));
}

function latencyCard(lat, charts) {
  const card = h('section', { class: 'card' },
    h('div', { class: 'card-head' },
      h('h2', null, 'p99 latency'),
      h('span', { class: 'muted small' }, `${LATENCY} by service · each dot is an exemplar: click it to open its trace`)),
  );
  if (!lat || !lat.series.length) {
    card.append(h('p', { class: 'muted pad' }, `No ${LATENCY} histogram in this range.`));
    return card;
  }
  const grid = h('div', { class: 'chart-grid' });
  card.append(grid);
  const xRange = [Number(lat.start_unix_nano) / 1e9, Number(lat.end_unix_nano) / 1e9];
  const series = [...lat.series].sort((a, b) => String(a.labels.service).localeCompare(String(b.labels.service)));
  // Draw after the grid is in the document so charts know their width.
  requestAnimationFrame(() => {
    for (const s of series) {
      const name = s.labels.service;
      const ex = lat.exemplars
        .filter((e) => e.service === name)
        .map((e) => ({ t: Number(e.time_unix_nano) / 1e9, v: Number(e.value), trace_id: e.trace_id, span_id: e.span_id, color: serviceColor(name), label: name }));
      const vals = s.points.map((p) => p.v).filter((v) => v !== null);
      const last = vals.length ? vals[vals.length - 1] : null;
      const plot = h('div', { class: 'chart-box' });
      const cell = h('div', { class: 'chart-cell', 'data-service': name },
        h('div', { class: 'chart-title' }, serviceChip(name), h('span', { class: 'spacer' }),
          h('span', { class: 'muted small' }, `${ex.length} exemplar${ex.length === 1 ? '' : 's'} · now `),
          h('b', { class: 'num' }, fmtSeconds(last))),
        plot);
      grid.append(cell);
      charts.push(timeChart(plot, {
        series: toSeries([s], () => serviceColor(name), () => name),
        exemplars: ex,
        unit: lat.unit || 's',
        height: 150,
        xRange,
        onExemplar: (e) => navigate(withRange(`/ui/trace/${e.trace_id}`, { focus: e.span_id })),
      }));
    }
  });
  return card;
}

function errorTracesCard(traces) {
  const card = h('section', { class: 'card' },
    h('div', { class: 'card-head' }, h('h2', null, 'Newest traces with errors'), h('span', { class: 'spacer' }),
      h('a', { href: withRange('/ui/logs', { severity: 'error' }), class: 'small' }, 'error logs →')));
  if (!traces.length) {
    card.append(h('p', { class: 'muted pad' }, 'No trace with an error span in this range.'));
    return card;
  }
  card.append(h('table', { class: 'grid traces' },
    h('thead', null, h('tr', null, h('th', null, 'Started'), h('th', null, 'Root'), h('th', { class: 'num' }, 'Duration'),
      h('th', { class: 'num' }, 'Spans'), h('th', { class: 'num' }, 'Errors'), h('th', { class: 'num' }, 'Logs'), h('th', null, 'Trace id'))),
    h('tbody', null, traces.map((t) => {
      const href = withRange(`/ui/trace/${t.trace_id}`);
      return h('tr', { class: 'clickable', onclick: (ev) => { if (!ev.target.closest('a')) navigate(href); } },
        h('td', { title: fmtClock(t.start_unix_nano) }, fmtClock(t.start_unix_nano).slice(0, 8), h('span', { class: 'muted small' }, ` ${fmtAgo(t.start_unix_nano)}`)),
        h('td', null, t.root_service ? serviceChip(t.root_service) : h('span', { class: 'badge warn' }, 'no root'), ' ', h('span', null, t.root_name || '')),
        h('td', { class: 'num' }, fmtDurationNs(t.duration_ns)),
        h('td', { class: 'num' }, String(t.span_count)),
        h('td', { class: 'num bad' }, String(t.error_count)),
        h('td', { class: 'num' }, String(t.log_count)),
        h('td', null, h('a', { href, class: 'mono' }, t.trace_id)));
    }))));
  return card;
}
