// DOM helpers: build elements from data without ever parsing data as HTML,
// so log bodies and attribute values can hold anything.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// A consistent color per service name, across every view.
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#7f8fa6', '#e15759'];
const assigned = new Map([
  ['frontend', 0],
  ['checkout', 1],
  ['auth', 2],
  ['inventory', 3],
  ['payment', 4],
  ['notifications', 5],
]);

export function serviceColor(name) {
  if (!name) return '#8a8f98';
  if (!assigned.has(name)) {
    let hsh = 0;
    for (const ch of name) hsh = (hsh * 31 + ch.charCodeAt(0)) >>> 0;
    assigned.set(name, hsh % PALETTE.length);
  }
  return PALETTE[assigned.get(name)];
}

export function serviceChip(name) {
  return h('span', { class: 'svc', title: name || 'unknown service' },
    h('i', { style: { background: serviceColor(name) } }), name || '—');
}

export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
