// Correlation: where the trace id gets lost, from /api/v1/correlation over
// the selected range and optionally one service. The verdict, each finding
// with its count, share, examples (trace ids open their trace) and what to
// change, then per service the counts the findings come from.

import { getJSON } from '../api.js';
import { clear, h, serviceChip } from '../dom.js';
import { fmtClock, fmtCount, fmtPercent } from '../format.js';
import { setParams, withRange } from '../router.js';
import { coverageBar } from './overview.js';

const REFRESH_MS = 30000;

const KINDS = {
  coverage: 'Coverage',
  dangling_lost: 'Lost traces',
  dangling_truncated: 'Truncated ids',
  sampled_out: 'Sampled out',
  missing_parent: 'Missing parents',
  lost_context: 'Lost context',
  cardinality: 'Label cardinality',
  format_drift: 'Format drift',
};

// The table column each kind of finding is about, to mark the cell.
const CELL_OF = {
  coverage: 'coverage',
  dangling_lost: 'lost',
  dangling_truncated: 'truncated',
  missing_parent: 'missing_parent',
  lost_context: 'lost_context',
  format_drift: 'id_fields',
};

const plural = (n, one, many) => `${fmtCount(n)} ${n === 1 ? one : many}`;

function fmtGrace(s) {
  if (!Number.isFinite(s)) return '—';
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600}h`;
  if (s >= 60 && s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

const fieldName = (f) => (f ? h('code', null, f) : 'the OTLP trace id field');

export function correlationView(root, { params, range }) {
  const f = { service: params.get('service') || '' };
  const page = h('div', { class: 'corr-page stack', 'data-state': 'loading' });
  const verdict = h('span', { id: 'corr-verdict', class: 'verdict' });
  const status = h('span', { class: 'muted small' });
  const service = h('select', { id: 'c-service', 'aria-label': 'Service' }, h('option', { value: '' }, 'All services'));
  if (f.service) service.append(h('option', { value: f.service }, f.service));
  service.value = f.service;
  const body = h('div', { class: 'stack' }, h('div', { class: 'loading' }, 'Loading…'));
  page.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Correlation'), verdict, h('span', { class: 'spacer' }), status),
    h('form', { class: 'filters', onsubmit: (ev) => ev.preventDefault() }, service,
      h('span', { class: 'muted small' }, 'where log lines lose their trace id, traces lose their parents, and ids end up in metric labels')),
    body,
  );
  root.append(page);

  getJSON('/api/v1/services', { start: range }).then((r) => {
    for (const s of r.services) if (s.name !== f.service) service.append(h('option', { value: s.name }, s.name));
  }, () => {});
  service.addEventListener('change', () => {
    f.service = service.value;
    setParams({ service: f.service }, { push: true });
    load();
  });

  let ctl = null;
  async function load() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    status.textContent = 'loading…';
    try {
      const r = await getJSON('/api/v1/correlation', { start: range, service: f.service }, { signal: ctl.signal });
      if (!r || !Array.isArray(r.services) || !Array.isArray(r.findings)) throw new Error('the server answered with something that is not a correlation report');
      draw(r);
      status.textContent = `updated ${fmtClock(Date.now() * 1e6).slice(0, 8)}`;
      page.dataset.state = 'ready';
    } catch (e) {
      if (e.name === 'AbortError') return;
      verdict.className = 'verdict';
      verdict.textContent = '';
      clear(body).append(h('div', { class: 'error-box' }, `Could not load the correlation report: ${e.message}`));
      status.textContent = '';
      page.dataset.state = 'error';
    }
  }

  function draw(r) {
    clear(body);
    const faults = r.findings.filter((x) => x.severity === 'fault').length;
    const notes = r.findings.length - faults;
    verdict.className = `verdict ${r.ok ? 'ok' : 'bad'}`;
    verdict.textContent = r.ok ? 'OK' : plural(faults, 'fault', 'faults');
    verdict.title = r.ok ? 'no finding of severity fault' : 'findings of severity fault below';
    if (!r.services.length) {
      body.append(h('div', { class: 'empty card' },
        h('h2', null, f.service ? `No data from ${f.service} in this time range` : 'No data in this time range'),
        h('p', null, 'Correlation health is computed from the logs, spans and metrics braid receives.')));
      return;
    }
    const t = r.thresholds;
    body.append(h('p', { class: 'muted small thresholds' },
      `thresholds: coverage ≥ ${fmtPercent(t.coverage, 0)} · lost ≤ ${fmtPercent(t.lost, 0)} · broken ≤ ${fmtPercent(t.broken, 0)} · drift ≤ ${fmtPercent(t.drift, 0)} · distinct label values ≤ ${fmtCount(t.cardinality_distinct)} · grace ${fmtGrace(r.grace_seconds)}`,
      notes ? ` · ${plural(notes, 'note', 'notes')} of severity info` : ''));
    if (Number.isFinite(r.sample_rate) && r.sample_rate < 1) {
      body.append(h('div', { class: 'banner warn' },
        `More traces were in their grace period than braid follows at once: it followed ${fmtPercent(r.sample_rate)} of them, so the link and span counts are estimates.`));
    }
    const pending = r.services.reduce((n, s) => n + (s.links ? s.links.pending : 0), 0);
    if (pending) {
      body.append(h('p', { class: 'muted small' },
        `${plural(pending, 'trace is', 'traces are')} still inside the grace period (${fmtGrace(r.grace_seconds)}): pending, not judged yet.`));
    }
    body.append(findingsCard(r.findings));
    body.append(servicesCard(r));
  }

  load();
  const timer = setInterval(() => {
    if (!document.hidden) load();
  }, REFRESH_MS);
  return {
    destroy() {
      clearInterval(timer);
      if (ctl) ctl.abort();
    },
  };
}

function findingsCard(findings) {
  const card = h('section', { class: 'card' },
    h('div', { class: 'card-head' }, h('h2', null, 'Findings'), h('span', { class: 'muted small' }, findings.length ? 'faults first, then by count' : '')));
  if (!findings.length) {
    card.append(h('p', { class: 'pad good' }, 'Nothing to fix: every log line that should carry a trace id does, and every id leads somewhere.'));
    return card;
  }
  card.append(h('ul', { class: 'findings' }, findings.map(finding)));
  return card;
}

function finding(x) {
  const fault = x.severity === 'fault';
  const detail = [];
  if (x.kind === 'lost_context') {
    detail.push(h('span', { class: 'edge' }, x.caller ? serviceChip(x.caller) : h('span', { class: 'muted' }, 'unknown caller'), h('span', { class: 'muted' }, ' → '), serviceChip(x.service)));
  }
  if (typeof x.field === 'string' || x.form) {
    detail.push(h('span', null, typeof x.field === 'string' ? fieldName(x.field) : 'ids', x.form ? [' as ', h('code', null, x.form)] : null));
  }
  if (x.kind === 'cardinality') {
    detail.push(h('span', null, 'metric ', h('code', null, x.metric), ', label ', h('code', null, x.label),
      x.distinct !== undefined ? `, ~${fmtCount(x.distinct)} distinct values` : null));
  }
  const examples = x.examples || [];
  let ex = null;
  if (examples.length) {
    ex = x.kind === 'cardinality'
      ? h('div', { class: 'examples' }, h('span', { class: 'muted' }, 'example values: '), examples.map((v) => h('span', { class: 'mono example' }, v)))
      : h('div', { class: 'examples' }, h('span', { class: 'muted' }, 'example traces: '),
        examples.map((id) => h('a', { class: 'mono example', href: withRange(`/ui/trace/${encodeURIComponent(id)}`), title: `open trace ${id}` }, id)));
  }
  return h('li', { class: `finding ${fault ? 'fault' : 'info'}`, 'data-kind': x.kind, 'data-service': x.service, 'data-severity': x.severity },
    h('div', { class: 'finding-head' },
      h('span', { class: `badge ${fault ? 'err' : ''}` }, fault ? 'FAULT' : 'INFO'),
      h('b', null, KINDS[x.kind] || x.kind),
      h('span', { class: 'mono muted small' }, x.kind),
      h('a', { href: withRange('/ui/correlation', { service: x.service }), title: `only ${x.service}` }, serviceChip(x.service)),
      h('span', { class: 'spacer' }),
      h('span', { class: 'num count' }, `${fmtCount(x.count)} of ${fmtCount(x.total)}`),
      h('b', { class: `num share ${fault ? 'bad' : ''}` }, fmtPercent(x.share))),
    detail.length ? h('div', { class: 'finding-detail small' }, detail) : null,
    h('p', { class: 'finding-msg' }, x.message),
    ex);
}

function servicesCard(r) {
  const marked = new Map(); // service -> Set of cells a fault finding is about
  const drift = new Set(); // "service\0field\0form" of format_drift findings
  for (const x of r.findings) {
    if (x.severity !== 'fault' || !CELL_OF[x.kind]) continue;
    if (!marked.has(x.service)) marked.set(x.service, new Set());
    marked.get(x.service).add(CELL_OF[x.kind]);
    if (x.kind === 'format_drift') drift.add(`${x.service}\0${x.field ?? ''}\0${x.form ?? ''}`);
  }
  const cov = r.thresholds.coverage;
  const rows = r.services.map((s) => {
    const m = marked.get(s.service) || new Set();
    const l = s.links || {};
    const d = s.spans_detail || {};
    const cell = (key, n, total) => h('td', { class: `num ${m.has(key) ? 'bad' : ''}`, 'data-col': key, title: total ? `${fmtCount(n)} of ${fmtCount(total)}` : null },
      n ? fmtCount(n) : h('span', { class: 'muted' }, '0'));
    return h('tr', { 'data-service': s.service },
      h('td', null, h('a', { href: withRange('/ui/correlation', { service: s.service }) }, serviceChip(s.service))),
      h('td', { class: 'num' }, fmtCount(s.logs)),
      h('td', { 'data-col': 'coverage' }, coverageBar(s.coverage, s.logs, { threshold: cov, judged: s.emits_spans })),
      h('td', { class: 'num' }, fmtCount(l.traces)),
      cell('linked', l.linked, l.traces),
      cell('sampled_out', l.sampled_out, l.traces),
      cell('lost', l.lost, l.traces),
      cell('truncated', l.truncated, l.traces),
      cell('pending', l.pending, l.traces),
      cell('missing_parent', d.missing_parent, d.with_parent),
      cell('lost_context', d.lost_context_roots, d.entry_spans),
      h('td', { 'data-col': 'id_fields', class: 'id-fields' }, (s.id_fields || []).length
        ? s.id_fields.map((x) => h('span', { class: `id-field ${drift.has(`${s.service}\0${x.field}\0${x.form}`) ? 'bad' : ''}`, title: `${fmtCount(x.count)} log lines` },
          x.field ? h('code', null, x.field) : 'OTLP', ' · ', x.form, ' ', h('span', { class: 'muted num' }, fmtCount(x.count))))
        : h('span', { class: 'muted' }, '—')));
  });
  return h('section', { class: 'card flush' },
    h('div', { class: 'card-head' }, h('h2', null, 'Services'),
      h('span', { class: 'muted small' }, 'traces: distinct trace ids its logs point at, judged after the grace period · missing parents of spans with a parent · lost-context roots of server/consumer spans')),
    h('div', { class: 'table-scroll' },
      h('table', { class: 'grid corr-services' },
        h('thead', null, h('tr', null,
          h('th', null, 'Service'), h('th', { class: 'num' }, 'Logs'), h('th', null, 'Trace-id coverage'),
          h('th', { class: 'num' }, 'Traces'), h('th', { class: 'num' }, 'Linked'), h('th', { class: 'num' }, 'Sampled out'),
          h('th', { class: 'num' }, 'Lost'), h('th', { class: 'num' }, 'Truncated'), h('th', { class: 'num' }, 'Pending'),
          h('th', { class: 'num' }, 'Missing parents'), h('th', { class: 'num' }, 'Lost-context roots'), h('th', null, 'Id fields · forms'))),
        h('tbody', null, rows))));
}
