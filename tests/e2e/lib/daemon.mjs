// Runs the real braid daemon for the end-to-end tests: spawn `braid serve`
// on loopback with port 0, learn the bound ports from its stdout, wait for
// "braid: ready", and give tests small HTTP helpers for both listeners.
// It owns the child process and its temporary data directory; it never
// touches anything outside that directory and never binds beyond 127.0.0.1.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(HERE, '..');
const ARTIFACTS = path.join(E2E_DIR, 'artifacts');
const STDERR_CAP = 4 << 20;

const live = new Set();
process.on('exit', () => {
  for (const d of live) {
    try {
      d.proc.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export function braidBin() {
  const bin = process.env.BRAID_BIN || path.resolve(E2E_DIR, '../../build/braid');
  if (!fs.existsSync(bin)) {
    throw new Error(`braid binary not found at ${bin} (set BRAID_BIN or run make build/braid)`);
  }
  return bin;
}

// Environment for the child: ours minus any BRAID_* settings that could leak
// in from the caller, plus a loopback gRPC address so a daemon that opens a
// gRPC listener by default never binds 0.0.0.0:4317 during tests.
function childEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('BRAID_') && !k.startsWith('OTEL_')) env[k] = v;
  }
  env.BRAID_OTLP_GRPC = '127.0.0.1:0';
  return { ...env, ...extra };
}

let artifactSeq = 0;

export class Daemon {
  constructor({ dataDir, args = [], env = {}, label = 'braid', ownsDataDir = false }) {
    this.dataDir = dataDir;
    this.args = args;
    this.env = env;
    this.label = label;
    this.ownsDataDir = ownsDataDir;
    this.proc = null;
    this.listeners = {};
    this.stderr = '';
    this.stdout = '';
    this.exit = null; // { code, signal } once the process is gone
    this.starts = 0;
    this.artifactName = `${label.replace(/[^A-Za-z0-9_.-]/g, '_')}-${process.pid}-${++artifactSeq}.stderr.log`;
  }

  get apiAddr() {
    return this.listeners.api;
  }

  get otlpAddr() {
    return this.listeners['otlp-http'];
  }

  get grpcAddr() {
    return this.listeners['otlp-grpc'];
  }

  get alive() {
    return this.proc !== null && this.exit === null;
  }

  // Last lines of the daemon's stderr, for failure messages.
  stderrTail(lines = 80) {
    const all = this.stderr.split('\n');
    return all.slice(Math.max(0, all.length - lines)).join('\n');
  }

  describe() {
    const state = this.exit
      ? `exited (code ${this.exit.code}, signal ${this.exit.signal})`
      : this.proc
        ? `running (pid ${this.proc.pid})`
        : 'not started';
    return `braid ${this.label} ${state}, data ${this.dataDir}\n--- braid stderr (last lines) ---\n${this.stderrTail()}\n--- end of braid stderr ---`;
  }

  async start({ timeoutMs = 15000 } = {}) {
    if (this.alive) throw new Error('daemon already running');
    const bin = braidBin();
    const argv = [
      'serve',
      '--data',
      this.dataDir,
      '--api',
      '127.0.0.1:0',
      '--otlp-http',
      '127.0.0.1:0',
      ...this.args,
    ];
    if (process.env.BRAID_E2E_LOG_LEVEL) argv.push('--log-level', process.env.BRAID_E2E_LOG_LEVEL);
    this.listeners = {};
    this.exit = null;
    this.starts += 1;
    this.stderr += `\n=== start #${this.starts}: ${bin} ${argv.join(' ')}\n`;
    const proc = spawn(bin, argv, { env: childEnv(this.env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    live.add(this);

    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (s) => {
      this.stderr += s;
      if (this.stderr.length > STDERR_CAP) this.stderr = this.stderr.slice(-STDERR_CAP);
    });
    proc.stdout.setEncoding('utf8');

    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
    });

    const ready = new Promise((resolve, reject) => {
      let pending = '';
      let isReady = false;
      proc.stdout.on('data', (chunk) => {
        this.stdout += chunk;
        pending += chunk;
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).replace(/\r$/, '');
          pending = pending.slice(nl + 1);
          const m = /^braid: listening (\S+) (\S+):(\d+)$/.exec(line);
          if (m) {
            this.listeners[m[1]] = { host: m[2], port: Number(m[3]) };
          } else if (line === 'braid: ready' && !isReady) {
            isReady = true;
            resolve();
          }
        }
      });
      proc.on('error', (err) => reject(new Error(`cannot spawn ${bin}: ${err.message}`)));
      proc.on('exit', (code, signal) => {
        if (!isReady) {
          reject(new Error(`braid exited before "braid: ready" (code ${code}, signal ${signal})`));
        }
      });
    });

    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`braid did not print "braid: ready" within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([ready, timeout]);
    } catch (err) {
      if (this.alive) {
        proc.kill('SIGKILL');
        await this.exited;
      }
      err.message += `\nstdout so far: ${JSON.stringify(this.stdout)}\n${this.describe()}`;
      throw err;
    } finally {
      clearTimeout(timer);
    }
    for (const name of ['api', 'otlp-http', 'otlp-grpc']) {
      const l = this.listeners[name];
      if (!l) {
        throw new Error(`braid printed no "braid: listening ${name} host:port" line\n${this.describe()}`);
      }
      if (l.host !== '127.0.0.1') {
        throw new Error(`braid ${name} listener bound ${l.host}, asked for 127.0.0.1`);
      }
      if (!(l.port > 0)) throw new Error(`braid ${name} listener reported port ${l.port}`);
    }
    return this;
  }

  // SIGTERM and require a clean exit with status 0.
  async stop({ timeoutMs = 15000 } = {}) {
    if (!this.alive) {
      if (this.exit && this.exit.code !== 0) {
        throw new Error(`braid had already exited: ${this.describe()}`);
      }
      return this.exit;
    }
    this.proc.kill('SIGTERM');
    const res = await withTimeout(this.exited, timeoutMs, () => {
      this.proc.kill('SIGKILL');
      return new Error(`braid did not exit within ${timeoutMs} ms of SIGTERM\n${this.describe()}`);
    });
    this.saveArtifact();
    if (res.code !== 0) {
      throw new Error(`braid exited with code ${res.code}, signal ${res.signal} after SIGTERM\n${this.describe()}`);
    }
    return res;
  }

  async kill9() {
    if (!this.alive) throw new Error(`braid is not running: ${this.describe()}`);
    this.proc.kill('SIGKILL');
    const res = await this.exited;
    this.saveArtifact();
    return res;
  }

  // Start again on the same data directory with the same flags.
  async restart(opts) {
    if (this.alive) await this.stop();
    return this.start(opts);
  }

  // Stops the daemon if needed (clean stop) and removes an owned data dir.
  async dispose() {
    try {
      if (this.alive) await this.stop();
    } finally {
      if (this.ownsDataDir && !process.env.BRAID_E2E_KEEP) {
        fs.rmSync(this.dataDir, { recursive: true, force: true });
      }
    }
  }

  saveArtifact() {
    try {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      fs.writeFileSync(path.join(ARTIFACTS, this.artifactName), this.stderr);
    } catch {
      /* artifacts are a convenience only */
    }
  }

  // ---- HTTP helpers ----------------------------------------------------

  // Requests to /v1/* go to the OTLP/HTTP listener, everything else to the
  // query API, unless `listener` says otherwise.
  addrFor(p, listener) {
    const name = listener || (p.startsWith('/v1/') ? 'otlp-http' : 'api');
    const addr = this.listeners[name];
    if (!addr) throw new Error(`no ${name} listener (daemon ${this.alive ? 'running' : 'not running'})`);
    return addr;
  }

  request(method, p, { body, headers = {}, listener, timeoutMs } = {}) {
    const { host, port } = this.addrFor(p, listener);
    return httpRequest({ host, port, method, path: p, body, headers, timeoutMs });
  }

  get(p, opts) {
    return this.request('GET', p, opts);
  }

  post(p, body, headers = {}, opts = {}) {
    return this.request('POST', p, { ...opts, body, headers });
  }

  // GET a query-API path; returns { status, headers, json, text }.
  async getJSON(p) {
    const res = await this.get(p);
    return res;
  }
}

function withTimeout(promise, ms, onTimeout) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// One HTTP/1.1 request on a fresh connection. The response is returned even
// when the server answers before reading the whole body (as it should for
// 413) and then resets the connection while we are still writing.
export function httpRequest({ host, port, method, path: p, body, headers = {}, timeoutMs = 20000 }) {
  return new Promise((resolve, reject) => {
    const hdrs = { ...headers };
    const has = (name) => Object.keys(hdrs).some((k) => k.toLowerCase() === name);
    // An array body is sent piece by piece with chunked transfer encoding.
    const chunked = Array.isArray(body);
    let payload = null;
    if (chunked) {
      hdrs['Transfer-Encoding'] = 'chunked';
    } else if (body !== undefined && body !== null) {
      payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
      if (!has('content-length') && !has('transfer-encoding')) hdrs['Content-Length'] = String(payload.length);
    }
    let settled = false;
    let gotResponse = false;
    const req = http.request({ host, port, method, path: p, headers: hdrs, agent: false });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(new Error(`${method} ${p}: no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', (res) => {
      gotResponse = true;
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', () => {
        /* a reset after the body arrived is handled by 'close' below */
      });
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        resolve(makeResponse(res.statusCode, res.headers, buf));
      };
      res.on('end', finish);
      res.on('close', finish);
    });
    req.on('error', (err) => {
      if (gotResponse || settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${method} http://${host}:${port}${p}: ${err.code || ''} ${err.message}`));
    });
    if (chunked) {
      const pieces = body.map((b) => (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b)));
      const writeNext = (i) => {
        if (settled || gotResponse) return req.end();
        if (i >= pieces.length) return req.end();
        if (req.write(pieces[i])) setImmediate(() => writeNext(i + 1));
        else req.once('drain', () => writeNext(i + 1));
      };
      writeNext(0);
    } else if (payload) req.end(payload);
    else req.end();
  });
}

function makeResponse(status, headers, body) {
  const text = body.toString('utf8');
  let json;
  const ct = String(headers['content-type'] || '');
  if (ct.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status, headers, body, text, json };
}

export function makeDataDir(prefix = 'braid-e2e-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Start a daemon on a fresh temporary data directory (or `dataDir`).
export async function startDaemon({ dataDir, args = [], env = {}, label = 'braid', timeoutMs } = {}) {
  const owns = !dataDir;
  const d = new Daemon({ dataDir: dataDir || makeDataDir(), args, env, label, ownsDataDir: owns });
  try {
    await d.start({ timeoutMs });
  } catch (err) {
    if (owns && !process.env.BRAID_E2E_KEEP) fs.rmSync(d.dataDir, { recursive: true, force: true });
    throw err;
  }
  return d;
}

// Wrap a test body so that a failure carries the daemon's recent stderr and
// state. `getDaemon` is a function because the daemon may be created in a
// before() hook that runs after the test was declared.
export function withDaemonLog(getDaemon, fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const d = getDaemon();
      const extra = d ? `\n${d.describe()}` : '\n(no daemon was started)';
      if (err instanceof Error) {
        try {
          err.message = `${err.message}${extra}`;
        } catch {
          throw new Error(`${inspect(err)}${extra}`, { cause: err });
        }
        throw err;
      }
      throw new Error(`${inspect(err)}${extra}`, { cause: err });
    }
  };
}

// One daemon shared by the tests of a file, started by the first test that
// needs it. A start-up failure then fails every test with the daemon's
// output instead of cancelling them all from a hook.
export function daemonFixture(opts) {
  let daemon = null;
  let startError = null;
  let starting = null;
  const up = async () => {
    if (!starting) {
      starting = startDaemon(opts).then(
        (x) => {
          daemon = x;
        },
        (e) => {
          startError = e;
        },
      );
    }
    await starting;
    if (startError) throw startError;
    return daemon;
  };
  return {
    get daemon() {
      return daemon;
    },
    up,
    // Test body wrapper: starts (or reuses) the daemon, passes it in, and
    // appends its stderr to any failure.
    test(fn) {
      return withDaemonLog(
        () => daemon,
        async (t) => fn(await up(), t),
      );
    },
    async dispose() {
      if (daemon) await daemon.dispose();
    },
  };
}
