// Navigation state: the URL is the whole state of a view, so these helpers
// change it (push or replace) and ask the shell to draw again.

import { DEFAULT_RANGE } from './api.js';

let renderFn = () => {};
let syncFn = () => {};
export function onRender(fn) {
  renderFn = fn;
}
export function onSync(fn) {
  syncFn = fn;
}

export function navigate(url, { replace = false } = {}) {
  const u = new URL(url, location.href);
  if (u.origin !== location.origin) {
    location.href = u.href;
    return;
  }
  if (replace) history.replaceState(null, '', u.pathname + u.search + u.hash);
  else history.pushState(null, '', u.pathname + u.search + u.hash);
  renderFn();
}

// Updates the query string of the current URL without drawing a new view.
export function setParams(params, { push = false } = {}) {
  const u = new URL(location.href);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) u.searchParams.delete(k);
    else u.searchParams.set(k, String(v));
  }
  const next = u.pathname + u.search;
  if (next === location.pathname + location.search) return;
  if (push) history.pushState(null, '', next);
  else history.replaceState(null, '', next);
  syncFn();
}

export function currentRange() {
  return new URLSearchParams(location.search).get('range') || DEFAULT_RANGE;
}

// A view link that keeps the current time range.
export function withRange(path, params = {}) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  const range = currentRange();
  if (range !== DEFAULT_RANGE && !u.searchParams.has('range')) u.searchParams.set('range', range);
  return u.pathname + u.search;
}
