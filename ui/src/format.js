// Formatting of times, durations, numbers and OTLP values for display.
// Times arrive as Unix nanoseconds in decimal strings; JavaScript numbers
// keep them to about a quarter microsecond, which is enough to draw.

export function nsToMs(ns) {
  return Number(ns) / 1e6;
}

export function fmtDurationNs(ns) {
  const v = Number(ns);
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  if (v < 1e3) return `${v.toFixed(0)} ns`;
  if (v < 1e6) return `${(v / 1e3).toFixed(v < 1e4 ? 1 : 0)} µs`;
  if (v < 1e9) return `${(v / 1e6).toFixed(v < 1e7 ? 2 : v < 1e8 ? 1 : 0)} ms`;
  if (v < 60e9) return `${(v / 1e9).toFixed(2)} s`;
  return `${Math.floor(v / 60e9)}m ${Math.round((v % 60e9) / 1e9)}s`;
}

export function fmtSeconds(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  return fmtDurationNs(s * 1e9);
}

// A value in a metric's unit, for axes and tables.
export function fmtValue(v, unit) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (unit === 's') return fmtSeconds(v);
  if (unit === 'ms') return fmtDurationNs(v * 1e6);
  const u = unit && !unit.startsWith('{') && unit !== '1' ? ` ${unit}` : '';
  return `${fmtNumber(v)}${u}`;
}

export function fmtNumber(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  if (a >= 1) return v.toFixed(2).replace(/\.?0+$/, '');
  if (a === 0) return '0';
  return v.toPrecision(2);
}

// An exact count with thousands separators (the same in every locale).
export function fmtCount(v) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return '—';
  return Math.round(Number(v)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function fmtRate(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)}/s`;
}

export function fmtPercent(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(digits)}%`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// Tick labels for a time axis spanning `span` seconds (values in Unix s).
export function fmtTick(sec, span) {
  const d = new Date(sec * 1000);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (span <= 600) return `${hm}:${pad(d.getSeconds())}`;
  if (span <= 2 * 86400) return hm;
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

// Local wall-clock time with milliseconds, from Unix nanoseconds.
export function fmtClock(ns) {
  const ms = Math.floor(Number(ns) / 1e6);
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtDateTime(ns) {
  const d = new Date(Math.floor(Number(ns) / 1e6));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${fmtClock(ns)}`;
}

export function fmtAgo(ns) {
  const s = (Date.now() - Number(ns) / 1e6) / 1000;
  if (s < 0) return 'just now';
  if (s < 60) return `${Math.round(s)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

// A log body or attribute value (JSON as the API renders AnyValue).
export function fmtAny(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

// Severity class from severity_number (OTLP ranges) or text.
export function severityClass(num, text) {
  const n = Number(num) || 0;
  if (n >= 17) return n >= 21 ? 'fatal' : 'error';
  if (n >= 13) return 'warn';
  if (n >= 9) return 'info';
  if (n >= 5) return 'debug';
  if (n >= 1) return 'trace';
  const t = String(text || '').toLowerCase();
  if (t.startsWith('err')) return 'error';
  if (t.startsWith('warn')) return 'warn';
  if (t.startsWith('fatal') || t.startsWith('crit')) return 'fatal';
  if (t.startsWith('debug')) return 'debug';
  return 'info';
}

export function severityLabel(num, text) {
  if (text) return String(text).toUpperCase().slice(0, 5);
  return severityClass(num, text).toUpperCase();
}
