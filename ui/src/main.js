// braid web UI: the application shell (header, search, time range) and the
// router. Every view has its own URL under /ui/ so it can be pasted into a
// chat and opens the same view; links are real links, navigated in place.

import 'uplot/dist/uPlot.min.css';
import './style.css';
import { DEFAULT_RANGE, RANGES, looksLikeTraceId } from './api.js';
import { clear, h } from './dom.js';
import { currentRange, navigate, onRender, onSync, setParams, withRange } from './router.js';
import { correlationView } from './views/correlation.js';
import { logsView } from './views/logs.js';
import { metricsView } from './views/metrics.js';
import { overviewView } from './views/overview.js';
import { traceView } from './views/trace.js';

const routes = [
  { re: /^\/(?:ui\/?)?(?:index\.html)?$/, nav: 'overview', view: overviewView },
  { re: /^\/ui\/trace\/([^/]+)$/, nav: null, view: traceView },
  { re: /^\/ui\/logs\/?$/, nav: 'logs', view: logsView },
  { re: /^\/ui\/metrics\/?$/, nav: 'metrics', view: metricsView },
  { re: /^\/ui\/correlation\/?$/, nav: 'correlation', view: correlationView },
];

// ---- header ----------------------------------------------------------------
const navLinks = {};
let rangeSelect;
let searchInput;

function logo() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'logo');
  const paths = [
    ['M3 6c5 0 5 12 10 12s5-12 8-12', 'var(--c1)'],
    ['M3 12c4 0 5-6 9-6s5 12 9 12', 'var(--c2)'],
    ['M3 18c5 0 6-12 10-12s4 6 8 6', 'var(--c3)'],
  ];
  for (const [d, c] of paths) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', c);
    p.setAttribute('stroke-width', '2.2');
    p.setAttribute('stroke-linecap', 'round');
    svg.append(p);
  }
  return svg;
}

function buildHeader() {
  const header = document.getElementById('header');
  for (const [key, label, path] of [
    ['overview', 'Overview', '/ui/'],
    ['logs', 'Logs', '/ui/logs'],
    ['metrics', 'Metrics', '/ui/metrics'],
    ['correlation', 'Correlation', '/ui/correlation'],
  ]) {
    navLinks[key] = h('a', { href: path, class: 'nav-link', 'data-nav': key }, label);
  }
  searchInput = h('input', {
    id: 'search',
    type: 'search',
    placeholder: 'Trace id, traceparent, or text to search in logs',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-label': 'Search',
  });
  const form = h('form', { class: 'search', role: 'search' }, h('span', { class: 'search-icon', 'aria-hidden': 'true' }, '⌕'), searchInput, h('kbd', null, '/'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = searchInput.value.trim();
    if (!q) return;
    searchInput.blur();
    if (looksLikeTraceId(q)) navigate(withRange(`/ui/trace/${encodeURIComponent(q)}`));
    else navigate(withRange('/ui/logs', { q }));
  });
  rangeSelect = h('select', { id: 'range', 'aria-label': 'Time range' }, RANGES.map(([v, label]) => h('option', { value: v }, label)));
  rangeSelect.addEventListener('change', () => {
    setParams({ range: rangeSelect.value === DEFAULT_RANGE ? '' : rangeSelect.value });
    render();
  });
  header.append(
    h('a', { href: '/ui/', class: 'brand' }, logo(), h('span', null, 'braid')),
    h('nav', null, Object.values(navLinks)),
    form,
    rangeSelect,
  );
  document.addEventListener('keydown', (ev) => {
    if (ev.key === '/' && document.activeElement?.tagName !== 'INPUT' && document.activeElement?.tagName !== 'TEXTAREA') {
      ev.preventDefault();
      searchInput.focus();
      searchInput.select();
    }
  });
}

function syncHeader(active) {
  if (active !== undefined) {
    for (const [k, a] of Object.entries(navLinks)) a.classList.toggle('active', k === active);
  }
  if (rangeSelect) rangeSelect.value = currentRange();
  for (const [k, a] of Object.entries(navLinks)) {
    a.setAttribute('href', withRange(k === 'overview' ? '/ui/' : `/ui/${k}`));
  }
}

// ---- routing ---------------------------------------------------------------
let current = null; // { destroy() } of the view on screen

function render() {
  const main = document.getElementById('main');
  if (current && current.destroy) current.destroy();
  current = null;
  clear(main);
  const path = location.pathname;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    syncHeader(r.nav);
    const params = new URLSearchParams(location.search);
    current = r.view(main, { match: m, params, range: currentRange() });
    return;
  }
  syncHeader(null);
  main.append(h('div', { class: 'empty' }, h('h2', null, 'No such page'), h('p', null, h('a', { href: '/ui/' }, 'Go to the overview'))));
}

document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || !(u.pathname === '/' || u.pathname.startsWith('/ui'))) return;
  ev.preventDefault();
  navigate(u.href);
});

window.addEventListener('popstate', render);

onRender(render);
onSync(() => syncHeader());
buildHeader();
render();
