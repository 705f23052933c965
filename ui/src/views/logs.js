// Logs: a log explorer over /api/v1/logs with time range, service,
// severity, text and trace id filters and a live tail. Rows are virtualized
// (100,000 scroll smoothly); older pages load as the end comes into view.
// A line with a trace id links to its trace.

import { getJSON, nsAfter, nsBefore } from '../api.js';
import { h, serviceChip } from '../dom.js';
import { fmtAny, fmtClock, severityClass, severityLabel } from '../format.js';
import { setParams, withRange } from '../router.js';
import { VList } from '../vlist.js';
import { showLogDetail } from './trace.js';

const ROW = 24;
const FIRST_PAGE = 1000;
const PAGE = 5000;
const MAX_ROWS = 100000;
const TAIL_MS = 2000;

const SEVERITIES = [
  ['', 'Any severity'],
  ['debug', 'Debug and up'],
  ['info', 'Info and up'],
  ['warn', 'Warn and up'],
  ['error', 'Error and up'],
  ['fatal', 'Fatal'],
];

export function logsView(root, { params, range }) {
  const f = {
    service: params.get('service') || '',
    severity: params.get('severity') || '',
    q: params.get('q') || '',
    trace_id: params.get('trace_id') || '',
    live: params.get('live') === '1',
  };
  const page = h('div', { class: 'logs-page' });
  root.append(page);

  const service = h('select', { id: 'f-service', 'aria-label': 'Service' }, h('option', { value: '' }, 'All services'));
  if (f.service) service.append(h('option', { value: f.service }, f.service));
  service.value = f.service;
  const severity = h('select', { id: 'f-severity', 'aria-label': 'Severity' }, SEVERITIES.map(([v, l]) => h('option', { value: v }, l)));
  severity.value = f.severity;
  const q = h('input', { id: 'f-q', type: 'search', placeholder: 'Text in the log body', value: f.q, 'aria-label': 'Text' });
  const tid = h('input', { id: 'f-trace', type: 'search', placeholder: 'Trace id', value: f.trace_id, class: 'mono', 'aria-label': 'Trace id' });
  const live = h('input', { id: 'f-live', type: 'checkbox' });
  live.checked = f.live;
  const count = h('span', { class: 'muted small', id: 'logs-count' });
  const form = h('form', { class: 'filters' },
    service, severity, q, tid,
    h('button', { class: 'btn primary', type: 'submit' }, 'Search'),
    h('label', { class: 'toggle' }, live, h('span', null, 'Live tail')),
    h('span', { class: 'spacer' }), count);
  const listBox = h('div', { class: 'log-list logs-main' });
  const detail = h('div', { class: 'log-detail', hidden: true });
  page.append(h('div', { class: 'page-head' }, h('h1', null, 'Logs')), form, h('section', { class: 'card flush logs-card' }, listBox, detail));

  getJSON('/api/v1/services', { start: range }).then((r) => {
    for (const s of r.services) if (s.name !== f.service) service.append(h('option', { value: s.name }, s.name));
  }, () => {});

  let rows = [];
  let active = -1;
  let exhausted = false;
  let loading = false;
  let gen = 0;
  let tailTimer = null;
  let ctl = new AbortController();

  const list = new VList(listBox, {
    rowHeight: ROW,
    renderRow(el, i) {
      const l = rows[i];
      const sev = severityClass(l.severity_number, l.severity_text);
      el.className = `vrow log-row sev-${sev}${i === active ? ' active' : ''}`;
      el.replaceChildren(
        h('span', { class: 'log-time num', title: l.time_unix_nano }, fmtClock(l.time_unix_nano)),
        h('span', { class: `sev ${sev}` }, severityLabel(l.severity_number, l.severity_text)),
        serviceChip(l.service),
        l.trace_id
          ? h('a', { class: 'trace-link mono', href: withRange(`/ui/trace/${l.trace_id}`, l.span_id ? { focus: l.span_id } : {}), title: `open trace ${l.trace_id}` }, l.trace_id.slice(0, 8))
          : h('span', { class: 'trace-link none', title: 'no trace id' }, '—'),
        h('span', { class: 'log-body', title: fmtAny(l.body) }, fmtAny(l.body)),
      );
    },
  });
  list.onScrollEnd = () => loadOlder();
  listBox.addEventListener('click', (ev) => {
    if (ev.target.closest('a')) return;
    const row = ev.target.closest('.log-row');
    if (!row) return;
    const i = Number(row.dataset.index);
    active = active === i ? -1 : i;
    list.refresh();
    showLogDetail(detail, active >= 0 ? rows[active] : null);
  });

  const query = () => ({
    service: f.service,
    severity: f.severity,
    q: f.q,
    trace_id: f.trace_id,
  });

  function updateCount() {
    count.textContent = `${rows.length.toLocaleString()} line${rows.length === 1 ? '' : 's'}${rows.length >= MAX_ROWS ? ' (the newest; narrow the filters for older ones)' : ''}${loading ? ' · loading…' : ''}`;
  }

  async function reload() {
    gen++;
    const my = gen;
    ctl.abort();
    ctl = new AbortController();
    rows = [];
    active = -1;
    exhausted = false;
    showLogDetail(detail, null);
    list.setCount(0);
    loading = true;
    updateCount();
    try {
      const r = await getJSON('/api/v1/logs', { ...query(), start: range, limit: FIRST_PAGE }, { signal: ctl.signal });
      if (my !== gen) return;
      rows = r.logs;
      exhausted = r.logs.length < FIRST_PAGE;
      loading = false;
      list.setCount(rows.length);
      page.dataset.state = 'ready';
      if (!rows.length) listBox.dataset.empty = 'No log lines match these filters in this time range.';
      else delete listBox.dataset.empty;
    } catch (e) {
      if (e.name === 'AbortError') return;
      loading = false;
      listBox.dataset.empty = `Could not load logs: ${e.message}`;
      page.dataset.state = 'error';
    }
    updateCount();
  }

  async function loadOlder() {
    if (loading || exhausted || !rows.length || rows.length >= MAX_ROWS) return;
    const my = gen;
    loading = true;
    updateCount();
    try {
      const end = nsBefore(rows[rows.length - 1].time_unix_nano);
      const limit = Math.min(PAGE, MAX_ROWS - rows.length);
      const r = await getJSON('/api/v1/logs', { ...query(), start: range, end, limit }, { signal: ctl.signal });
      if (my !== gen) return;
      exhausted = r.logs.length < limit;
      for (const l of r.logs) rows.push(l);
      list.setCount(rows.length, { keepRows: true });
    } catch (e) {
      if (e.name !== 'AbortError') exhausted = true;
    } finally {
      if (my === gen) loading = false;
      updateCount();
    }
  }

  async function tail() {
    if (loading || document.hidden) return;
    const my = gen;
    try {
      const params = { ...query(), limit: PAGE };
      params.start = rows.length ? nsAfter(rows[0].time_unix_nano) : range;
      const r = await getJSON('/api/v1/logs', params, { signal: ctl.signal });
      if (my !== gen || !r.logs.length) return;
      const atTop = listBox.scrollTop < ROW;
      rows = r.logs.concat(rows);
      if (rows.length > MAX_ROWS) rows.length = MAX_ROWS;
      if (active >= 0) active += r.logs.length;
      delete listBox.dataset.empty;
      list.setCount(rows.length);
      if (!atTop) listBox.scrollTop += r.logs.length * ROW;
      updateCount();
    } catch {
      /* the next poll tries again */
    }
  }

  function setLive(on) {
    clearInterval(tailTimer);
    tailTimer = on ? setInterval(tail, TAIL_MS) : null;
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    f.service = service.value;
    f.severity = severity.value;
    f.q = q.value.trim();
    f.trace_id = tid.value.trim();
    setParams({ service: f.service, severity: f.severity, q: f.q, trace_id: f.trace_id }, { push: true });
    reload();
  });
  for (const sel of [service, severity]) sel.addEventListener('change', () => form.requestSubmit());
  live.addEventListener('change', () => {
    f.live = live.checked;
    setParams({ live: f.live ? '1' : '' });
    setLive(f.live);
  });

  reload();
  setLive(f.live);
  return {
    destroy() {
      gen++;
      ctl.abort();
      clearInterval(tailTimer);
      list.destroy();
    },
  };
}
