// Trace: the waterfall (indented by parent, bars on one time axis, errors in
// red, details of a span on click) and below it every log line of the trace
// from every service in time order, each tagged with its span. Selecting a
// span filters the lines to it. Spans whose parent is not in the trace are
// shown as roots marked "parent missing", never hidden.

import { getJSON } from '../api.js';
import { clear, h, serviceChip, serviceColor } from '../dom.js';
import { fmtAny, fmtDateTime, fmtDurationNs, severityClass, severityLabel } from '../format.js';
import { setParams, withRange } from '../router.js';
import { VList } from '../vlist.js';

const LOG_ROW = 26;

export function traceView(root, { match, params }) {
  const rawId = decodeURIComponent(match[1]);
  const view = h('div', { class: 'trace-view', 'data-state': 'loading' });
  root.append(view);
  view.append(h('div', { class: 'page-head' }, h('h1', null, 'Trace'), h('span', { class: 'mono muted' }, rawId)), h('div', { class: 'loading' }, 'Loading trace…'));
  const ctl = new AbortController();
  let cleanup = () => {};
  performance.clearMarks('trace-start');
  performance.mark('trace-start');
  getJSON(`/api/v1/traces/${encodeURIComponent(rawId)}`, null, { signal: ctl.signal })
    .then((t) => {
      if (t.trace_id !== rawId) {
        history.replaceState(null, '', `/ui/trace/${t.trace_id}${location.search}`);
      }
      cleanup = renderTrace(view, t, params);
      requestAnimationFrame(() => {
        const m = performance.measure('trace-render', 'trace-start');
        view.dataset.renderMs = String(Math.round(m.duration));
        view.dataset.state = 'ready';
      });
    })
    .catch((e) => {
      if (e.name === 'AbortError') return;
      clear(view).append(
        h('div', { class: 'page-head' }, h('h1', null, 'Trace'), h('span', { class: 'mono muted' }, rawId)),
        h('div', { class: 'empty card' },
          h('h2', null, e.status === 404 ? 'Trace not found' : e.status === 400 ? 'Not a trace id' : 'Could not load the trace'),
          h('p', null, e.message),
          e.status === 404 ? h('p', { class: 'muted' }, 'braid keeps spans, log lines and exemplars under their trace id; nothing is stored under this one (yet). Ids are accepted as 32 or 16 hex digits, a W3C traceparent or a decimal 64-bit id.') : null),
      );
      view.dataset.state = 'error';
    });
  return {
    destroy() {
      ctl.abort();
      cleanup();
    },
  };
}

function renderTrace(view, t, params) {
  const spans = t.spans;
  const logs = t.logs;
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  // Time origin: the earliest thing in the trace; BigInt keeps nanoseconds.
  let t0 = null;
  let t1 = null;
  const see = (a, b) => {
    const x = BigInt(a);
    const y = BigInt(b ?? a);
    if (t0 === null || x < t0) t0 = x;
    if (t1 === null || y > t1) t1 = y;
  };
  for (const s of spans) see(s.start_unix_nano, s.end_unix_nano);
  if (!spans.length) for (const l of logs) see(l.time_unix_nano);
  if (t0 === null) t0 = t1 = 0n;
  const total = Math.max(1, Number(t1 - t0));
  const rel = (ns) => Number(BigInt(ns) - t0);

  // Tree: children by parent, roots = no parent or a parent not in the trace.
  const children = new Map();
  const roots = [];
  let broken = 0;
  for (const s of spans) {
    if (s.parent_span_id && byId.has(s.parent_span_id)) {
      if (!children.has(s.parent_span_id)) children.set(s.parent_span_id, []);
      children.get(s.parent_span_id).push(s);
    } else {
      if (s.parent_span_id) broken++;
      roots.push(s);
    }
  }
  const order = [];
  const depth = new Map();
  const stack = roots.slice().reverse().map((s) => [s, 0]);
  while (stack.length) {
    const [s, d] = stack.pop();
    order.push(s);
    depth.set(s.span_id, d);
    const kids = children.get(s.span_id);
    if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], d + 1]);
  }
  const logsBySpan = new Map();
  for (const l of logs) {
    if (!l.span_id) continue;
    if (!logsBySpan.has(l.span_id)) logsBySpan.set(l.span_id, []);
    logsBySpan.get(l.span_id).push(l);
  }

  const services = new Set(spans.map((s) => s.service));
  for (const l of logs) services.add(l.service);
  const errors = spans.filter((s) => s.status.code === 'error').length;
  const root0 = roots.find((s) => !s.parent_span_id) || roots[0];

  // ---- header ----
  clear(view);
  const copy = h('button', { class: 'btn small', type: 'button', title: 'Copy the link to this view' }, 'Copy link');
  copy.addEventListener('click', () => {
    navigator.clipboard?.writeText(location.href).then(() => {
      copy.textContent = 'Copied';
      setTimeout(() => (copy.textContent = 'Copy link'), 1200);
    }, () => {});
  });
  view.append(
    h('div', { class: 'page-head' },
      h('h1', null, root0 ? root0.name : 'Trace'),
      root0 ? serviceChip(root0.service) : null,
      h('span', { class: 'spacer' }),
      copy,
      h('a', { class: 'btn small', href: withRange('/ui/logs', { trace_id: t.trace_id }) }, 'In the log explorer')),
    h('div', { class: 'trace-meta' },
      h('span', { class: 'mono', id: 'trace-id' }, t.trace_id),
      spans.length ? h('span', null, h('b', null, fmtDurationNs(total)), ' total') : null,
      h('span', null, h('b', null, String(spans.length)), ' spans'),
      h('span', null, h('b', null, String(services.size)), ' services'),
      h('span', { class: errors ? 'bad' : '' }, h('b', null, String(errors)), ` error${errors === 1 ? '' : 's'}`),
      h('span', null, h('b', null, String(logs.length)), ' log lines'),
      spans.length ? h('span', { class: 'muted' }, fmtDateTime(spans[0].start_unix_nano)) : null),
  );
  if (!spans.length) {
    view.append(h('div', { class: 'banner warn' }, 'No span of this trace is stored: it was probably sampled out or never exported. Its log lines are below.'));
  }
  if (broken) {
    view.append(h('div', { class: 'banner warn' },
      `${broken} span${broken === 1 ? ' has a parent' : 's have parents'} that ${broken === 1 ? 'is' : 'are'} not in this trace: context was lost on the way (a queue, a thread pool, a proxy) or the parent was not exported.`));
  }

  // ---- waterfall ----
  let selected = null;
  const focus = params.get('focus');
  const rowsById = new Map();
  const wf = h('div', { class: 'waterfall', role: 'tree' });
  const ticks = h('div', { class: 'wf-axis' });
  for (let i = 0; i <= 4; i++) {
    ticks.append(h('span', { class: 'wf-tick', style: { left: `${i * 25}%` } }, fmtDurationNs((total * i) / 4)));
  }
  wf.append(h('div', { class: 'wf-head' }, h('div', { class: 'wf-name' }, 'Service · span'), h('div', { class: 'wf-timeline' }, ticks)));
  const frag = document.createDocumentFragment();
  for (const s of order) {
    const d = depth.get(s.span_id);
    const start = rel(s.start_unix_nano);
    const dur = Math.max(0, Number(s.duration_ns));
    const left = (start / total) * 100;
    const width = Math.max((dur / total) * 100, 0.15);
    const err = s.status.code === 'error';
    const orphan = s.parent_span_id && !byId.has(s.parent_span_id);
    const bar = h('div', { class: `wf-bar${err ? ' err' : ''}`, style: { left: `${left}%`, width: `${width}%`, background: err ? '' : serviceColor(s.service) } });
    const lane = h('div', { class: 'wf-lane' }, bar);
    for (const ev of s.events || []) {
      lane.append(h('i', { class: 'wf-event', title: ev.name, style: { left: `${(rel(ev.time_unix_nano) / total) * 100}%` } }));
    }
    const sl = logsBySpan.get(s.span_id);
    if (sl) {
      for (const l of sl.slice(0, 24)) {
        lane.append(h('i', { class: `wf-log ${severityClass(l.severity_number, l.severity_text)}`, style: { left: `${(rel(l.time_unix_nano) / total) * 100}%` } }));
      }
    }
    const label = left + width > 80
      ? h('span', { class: 'wf-dur inside', style: { right: `${100 - left - width}%` } }, fmtDurationNs(dur))
      : h('span', { class: 'wf-dur', style: { left: `calc(${left + width}% + 6px)` } }, fmtDurationNs(dur));
    lane.append(label);
    const row = h('div', {
      class: `wf-row${err ? ' error' : ''}${orphan ? ' orphan' : ''}`,
      role: 'treeitem',
      tabindex: '0',
      'data-span-id': s.span_id,
      'data-name': s.name,
      'data-status': s.status.code,
    },
      h('div', { class: 'wf-name', style: { paddingLeft: `${8 + Math.min(d, 24) * 14}px` }, title: `${s.service} · ${s.name}` },
        h('i', { class: 'dot', style: { background: serviceColor(s.service) } }),
        h('span', { class: 'wf-svc' }, s.service),
        h('span', { class: 'wf-span' }, s.name),
        err ? h('span', { class: 'badge err' }, 'error') : null,
        orphan ? h('span', { class: 'badge warn', title: `parent ${s.parent_span_id} is not in this trace` }, 'parent missing') : null,
        s.span_id === focus ? h('span', { class: 'badge accent', title: 'the span the link pointed at' }, 'linked') : null),
      h('div', { class: 'wf-timeline' }, lane));
    rowsById.set(s.span_id, row);
    frag.append(row);
  }
  wf.append(frag);
  wf.addEventListener('click', (ev) => {
    const row = ev.target.closest('.wf-row');
    if (row) select(row.dataset.spanId === selected ? null : row.dataset.spanId, true);
  });
  wf.addEventListener('keydown', (ev) => {
    const row = ev.target.closest('.wf-row');
    if (!row) return;
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      select(row.dataset.spanId === selected ? null : row.dataset.spanId, true);
    } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const next = ev.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling;
      if (next && next.classList.contains('wf-row')) next.focus();
    }
  });
  const details = h('div', { class: 'span-details', hidden: true });
  if (spans.length) {
    view.append(h('section', { class: 'card flush' }, wf, details));
  }

  // ---- logs ----
  const logsHead = h('div', { class: 'card-head' });
  const logsBox = h('div', { class: 'log-list trace-logs' });
  const logDetail = h('div', { class: 'log-detail', hidden: true });
  view.append(h('section', { class: 'card flush' }, logsHead, logsBox, logDetail));
  let shown = logs;
  let activeLog = -1;
  const spanName = (sid) => {
    if (!sid) return null;
    const s = byId.get(sid);
    return s ? s.name : null;
  };
  const list = new VList(logsBox, {
    rowHeight: LOG_ROW,
    renderRow(el, i) {
      const l = shown[i];
      const sev = severityClass(l.severity_number, l.severity_text);
      const name = spanName(l.span_id);
      el.className = `vrow log-row sev-${sev}${i === activeLog ? ' active' : ''}`;
      el.replaceChildren(
        h('span', { class: 'log-off num' }, spans.length ? `+${fmtDurationNs(rel(l.time_unix_nano))}` : ''),
        h('span', { class: `sev ${sev}` }, severityLabel(l.severity_number, l.severity_text)),
        serviceChip(l.service),
        l.span_id
          ? h('button', { type: 'button', class: `span-tag${name ? '' : ' unknown'}`, 'data-span-id': l.span_id, title: name ? `span ${l.span_id}` : `span ${l.span_id} is not in this trace` }, name || `${l.span_id.slice(0, 8)}…`)
          : h('span', { class: 'span-tag none', title: 'this log record carries no span id' }, 'no span'),
        h('span', { class: 'log-body', title: fmtAny(l.body) }, fmtAny(l.body)),
      );
    },
  });
  logsBox.addEventListener('click', (ev) => {
    const tag = ev.target.closest('.span-tag[data-span-id]');
    if (tag && byId.has(tag.dataset.spanId)) {
      select(tag.dataset.spanId, true);
      return;
    }
    const row = ev.target.closest('.log-row');
    if (!row) return;
    const i = Number(row.dataset.index);
    activeLog = activeLog === i ? -1 : i;
    list.refresh();
    showLogDetail(logDetail, activeLog >= 0 ? shown[activeLog] : null);
  });
  const sizeList = () => {
    logsBox.style.height = `${Math.min(Math.max(shown.length, 1) * LOG_ROW + 2, Math.max(240, window.innerHeight * 0.6))}px`;
  };

  function drawLogsHead() {
    const sel = selected ? byId.get(selected) : null;
    logsHead.replaceChildren(
      h('h2', null, 'Log lines'),
      h('span', { class: 'muted small', id: 'log-count' }, sel ? `${shown.length} of ${logs.length}` : `${logs.length}`),
      sel
        ? h('button', { type: 'button', class: 'chip-filter', id: 'span-filter', title: 'Show the lines of every span' }, `span: ${sel.name}`, h('span', { 'aria-hidden': 'true' }, ' ✕'))
        : h('span', { class: 'muted small' }, 'from every service, in time order · click a span to see only its lines'),
    );
    const chip = logsHead.querySelector('#span-filter');
    if (chip) chip.addEventListener('click', () => select(null, true));
  }

  function select(sid, updateUrl) {
    if (selected && rowsById.get(selected)) rowsById.get(selected).classList.remove('selected');
    selected = sid && byId.has(sid) ? sid : null;
    if (selected) rowsById.get(selected).classList.add('selected');
    shown = selected ? logs.filter((l) => l.span_id === selected) : logs;
    activeLog = -1;
    showLogDetail(logDetail, null);
    drawLogsHead();
    sizeList();
    list.setCount(shown.length);
    showSpanDetail(details, selected ? byId.get(selected) : null, byId, rel, logsBySpan, t0);
    if (updateUrl) setParams({ span: selected, focus: null });
  }

  select(params.get('span'), false);
  if (focus && rowsById.get(focus)) {
    const row = rowsById.get(focus);
    row.classList.add('focused');
    requestAnimationFrame(() => row.scrollIntoView({ block: 'nearest' }));
  }
  const onResize = () => sizeList();
  window.addEventListener('resize', onResize);
  return () => {
    window.removeEventListener('resize', onResize);
    list.destroy();
  };
}

function kvTable(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h('p', { class: 'muted small' }, 'none');
  return h('table', { class: 'kv' }, h('tbody', null, entries.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, fmtAny(v))))));
}

function showSpanDetail(box, s, byId, rel, logsBySpan, t0) {
  clear(box);
  box.hidden = !s;
  if (!s) return;
  const orphan = s.parent_span_id && !byId.has(s.parent_span_id);
  const parent = s.parent_span_id ? byId.get(s.parent_span_id) : null;
  const status = s.status.code === 'error' ? h('span', { class: 'badge err' }, 'error') : h('span', { class: 'badge' }, s.status.code);
  box.append(
    h('div', { class: 'sd-head' }, serviceChip(s.service), h('b', null, s.name), status, s.status.message ? h('span', { class: 'bad' }, s.status.message) : null),
    h('div', { class: 'sd-grid' },
      field('Duration', fmtDurationNs(s.duration_ns)),
      field('Starts at', `+${fmtDurationNs(rel(s.start_unix_nano))}`),
      field('Kind', s.kind),
      field('Span id', h('span', { class: 'mono' }, s.span_id)),
      field('Parent', s.parent_span_id
        ? orphan
          ? h('span', null, h('span', { class: 'mono' }, s.parent_span_id), ' ', h('span', { class: 'badge warn' }, 'not in this trace'))
          : h('span', null, parent.name, ' ', h('span', { class: 'mono muted' }, s.parent_span_id))
        : h('span', { class: 'muted' }, 'none (root)')),
      field('Log lines', String((logsBySpan.get(s.span_id) || []).length)),
      s.scope && s.scope.name ? field('Scope', `${s.scope.name}${s.scope.version ? ` ${s.scope.version}` : ''}`) : null),
    h('div', { class: 'sd-cols' },
      h('div', null, h('h3', null, 'Attributes'), kvTable(s.attributes)),
      h('div', null,
        h('h3', null, `Events (${(s.events || []).length})`),
        (s.events || []).length
          ? h('ul', { class: 'events' }, s.events.map((e) => h('li', null, h('span', { class: 'num muted' }, `+${fmtDurationNs(Number(BigInt(e.time_unix_nano) - t0))}`), ' ', h('b', null, e.name), kvTable(e.attributes))))
          : h('p', { class: 'muted small' }, 'none'),
        (s.links || []).length ? [h('h3', null, 'Links'), h('ul', { class: 'events' }, s.links.map((k) => h('li', null, h('a', { class: 'mono', href: `/ui/trace/${k.trace_id}?focus=${k.span_id}` }, `${k.trace_id} / ${k.span_id}`))))] : null,
        h('details', null, h('summary', null, 'Resource'), kvTable(s.resource)))),
  );
}

function field(label, value) {
  return h('div', { class: 'field' }, h('span', { class: 'muted small' }, label), h('span', null, value));
}

export function showLogDetail(box, l) {
  clear(box);
  box.hidden = !l;
  if (!l) return;
  const sampled = (Number(l.flags) & 1) === 1;
  box.append(
    h('div', { class: 'sd-head' },
      h('span', { class: `sev ${severityClass(l.severity_number, l.severity_text)}` }, severityLabel(l.severity_number, l.severity_text)),
      serviceChip(l.service), h('span', { class: 'muted' }, fmtDateTime(l.time_unix_nano))),
    h('pre', { class: 'log-full' }, typeof l.body === 'string' ? l.body : JSON.stringify(l.body, null, 2)),
    h('div', { class: 'sd-grid' },
      field('Trace id', l.trace_id ? h('a', { class: 'mono', href: withRange(`/ui/trace/${l.trace_id}`, l.span_id ? { span: l.span_id } : {}) }, l.trace_id) : h('span', { class: 'muted' }, 'none')),
      field('Span id', l.span_id ? h('span', { class: 'mono' }, l.span_id) : h('span', { class: 'muted' }, 'none')),
      field('Sampled', l.trace_id ? (sampled ? 'yes' : 'no (trace flags 00)') : '—'),
      field('Source', l.source || 'otlp')),
    h('div', { class: 'sd-cols' },
      h('div', null, h('h3', null, 'Attributes'), kvTable(l.attributes)),
      h('div', null, h('h3', null, 'Resource'), kvTable(l.resource))),
  );
}
