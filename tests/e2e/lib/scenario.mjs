// The shared multi-service scenario for the end-to-end tests: three services
// (frontend -> checkout -> payment) instrumented with the official
// OpenTelemetry JS SDK, each with its own TracerProvider and LoggerProvider,
// context carried between services through W3C traceparent/tracestate
// headers. Only the exporter factory differs between transports (OTLP/HTTP
// protobuf or JSON today, gRPC later). Every exporter is wrapped so the run
// keeps exactly the ReadableSpan / ReadableLogRecord objects that the SDK
// handed to it, together with the export result.

import * as api from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, SamplingDecision, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';

export const SERVICES = ['frontend', 'checkout', 'payment'];
export const ROOT_NAME = 'GET /checkout';

// Exporters must not pick up settings from the caller's environment.
for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];

// Logs emitted inside a span must carry its context: that needs a real
// context manager, set once per process.
api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

// The SDK reports export problems (including partial success) through diag.
export const diagMessages = [];
api.diag.setLogger(
  {
    error: (...a) => diagMessages.push({ level: 'error', text: a.map(String).join(' ') }),
    warn: (...a) => diagMessages.push({ level: 'warn', text: a.map(String).join(' ') }),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  },
  { logLevel: api.DiagLogLevel.WARN, suppressOverrideMessage: true },
);

// Wrap any SDK exporter (span, log record or push metric exporter) so that
// every batch it is asked to export is kept with its result.
export function recording(inner, sink, meta) {
  const w = {
    export(items, done) {
      inner.export(items, (result) => {
        sink.push({ ...meta, items, result });
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => (inner.forceFlush ? inner.forceFlush() : Promise.resolve()),
  };
  if (inner.selectAggregationTemporality) w.selectAggregationTemporality = (k) => inner.selectAggregationTemporality(k);
  if (inner.selectAggregation) w.selectAggregation = (k) => inner.selectAggregation(k);
  return w;
}

export function failedExports(exports) {
  return exports
    .filter((e) => e.result.code !== ExportResultCode.SUCCESS)
    .map((e) => `${e.signal} export of ${e.service} failed: ${e.result.error ? e.result.error.message : 'unknown error'}`);
}

// Partial-success warnings that report rejected items.
export function rejectionWarnings(since = 0) {
  return diagMessages
    .slice(since)
    .filter((m) => /partial success/i.test(m.text) && !/"rejected\w*":\s*"?0"?[,}]/.test(m.text))
    .map((m) => m.text);
}

// The root sampler puts a tracestate on every trace so that propagation of
// trace_state can be checked end to end; children inherit their parent's.
function makeSampler(label) {
  return {
    shouldSample(ctx) {
      const parent = api.trace.getSpanContext(ctx);
      if (parent && api.isSpanContextValid(parent)) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
      return {
        decision: SamplingDecision.RECORD_AND_SAMPLED,
        traceState: api.createTraceState(`braid=${label},rojo=00f067aa0ba902b7`),
      };
    },
    toString: () => 'BraidE2ESampler',
  };
}

const propagator = new W3CTraceContextPropagator();

function injectHeaders() {
  const carrier = {};
  propagator.inject(api.context.active(), carrier, api.defaultTextMapSetter);
  return carrier;
}

function extractContext(carrier) {
  return propagator.extract(api.ROOT_CONTEXT, carrier, api.defaultTextMapGetter);
}

export function hrFromNs(ns) {
  return [Number(ns / 1000000000n), Number(ns % 1000000000n)];
}

function tracestateLabel(label) {
  return label.replace(/[^a-z0-9_\-*/]/gi, '-').toLowerCase();
}

// runScenario({ label, exporters, traces }) where exporters(service) returns
// { traces: SpanExporter, logs: LogRecordExporter }.
// Returns { label, spans, logs, exports, traceIds, outsideLogs, diagFrom }.
export async function runScenario({ label, exporters, traces = 3 }) {
  const exports = [];
  const diagFrom = diagMessages.length;
  const svc = {};
  for (const name of SERVICES) {
    const ex = exporters(name);
    const resource = defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: name,
        [ATTR_SERVICE_VERSION]: '1.4.2',
        'service.namespace': 'shop',
        'service.instance.id': `${name}-${label}`,
        'deployment.environment.name': 'e2e',
        'e2e.run': label,
        'host.cpu.count': 8,
        'e2e.sample_ratio': 0.25,
        'e2e.canary': name === 'payment',
        'e2e.zones': ['eu-west-1a', 'eu-west-1b'],
      }),
    );
    const tracerProvider = new TracerProvider({
      resource,
      sampler: makeSampler(tracestateLabel(label)),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter: recording(ex.traces, exports, { signal: 'traces', service: name }),
          scheduledDelayMillis: 3600000,
          maxExportBatchSize: 1000,
          maxQueueSize: 4096,
        }),
      ],
    });
    const loggerProvider = new LoggerProvider({
      resource,
      processors: [
        new BatchLogRecordProcessor({
          exporter: recording(ex.logs, exports, { signal: 'logs', service: name }),
          scheduledDelayMillis: 3600000,
          maxExportBatchSize: 1000,
          maxQueueSize: 4096,
        }),
      ],
    });
    svc[name] = {
      name,
      tracerProvider,
      loggerProvider,
      tracer: tracerProvider.getTracer(`shop.${name}`, '1.4.2'),
      logger: loggerProvider.getLogger(`shop.${name}.logs`, '2.0.1', {
        attributes: { 'scope.kind': 'app-logs', 'scope.shard': 3 },
      }),
      extraExporters: ex,
    };
  }

  let logSeq = 0;
  const emit = (s, rec) => {
    logSeq += 1;
    s.logger.emit({ ...rec, attributes: { ...(rec.attributes || {}), 'e2e.log.id': `${label}#${logSeq}` } });
  };

  const traceIds = [];
  let firstRoot = null;
  // All span, event and log times are explicit and carry odd nanoseconds, so
  // a store that rounds to micro- or milliseconds is caught.
  const runBase = BigInt(Date.now() - 120000) * 1000000n + 7n;

  for (let i = 0; i < traces; i++) {
    const kind = i % 3; // 0 ok, 1 payment declined, 2 async order via producer/consumer
    const failing = kind === 1;
    const messaging = kind === 2;
    const t0 = runBase + BigInt(i) * 5000000000n + BigInt(i * 1111);
    const T = (ns) => hrFromNs(t0 + BigInt(ns));
    const D = [250000000, 1200000000, 400000000][kind];
    const { frontend: fe, checkout: co, payment: pay } = svc;

    await fe.tracer.startActiveSpan(
      ROOT_NAME,
      {
        kind: api.SpanKind.SERVER,
        startTime: T(0),
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: 'GET',
          [ATTR_URL_PATH]: '/checkout',
          [ATTR_HTTP_ROUTE]: '/checkout',
          'e2e.trace.index': i,
          'e2e.big.int': 1099511627776,
          'e2e.negative.int': -7,
          'e2e.double': 3.14159,
          'e2e.small.double': 1.5e-7,
          'e2e.bool.true': true,
          'e2e.bool.false': false,
          'e2e.empty.string': '',
          'e2e.unicode': 'ünïcødé ✓ 日本語 🚀',
          'e2e.escapes': 'quote " backslash \\ newline \n tab \t end',
          'e2e.strings': ['alpha', 'beta', ''],
          'e2e.ints': [1, 2, 3, -4],
          'e2e.doubles': [0.5, 2.25, -1.125],
          'e2e.bools': [true, false, true],
        },
      },
      async (root) => {
        traceIds.push(root.spanContext().traceId);
        if (!firstRoot) firstRoot = root.spanContext();
        emit(fe, {
          timestamp: T(500001),
          severityNumber: SeverityNumber.INFO,
          severityText: 'INFO',
          body: `request received for trace #${i}`,
          attributes: { 'http.request.method': 'GET', 'client.address': '203.0.113.9', 'e2e.retry': false },
        });
        await fe.tracer.startActiveSpan(
          'render cart',
          { kind: api.SpanKind.INTERNAL, startTime: T(1000003) },
          async (s) => {
            s.addEvent(
              'cache.miss',
              { 'cache.key': `cart:${i}`, 'cache.ttl_ms': 1500, 'cache.hit_ratio': 0.875, 'cache.cold': true },
              T(2000001),
            );
            s.addEvent('template.rendered', undefined, T(8000009));
            emit(fe, {
              timestamp: T(3000005),
              observedTimestamp: T(3000105),
              severityNumber: SeverityNumber.DEBUG,
              severityText: 'DEBUG',
              body: { event: 'cart.rendered', items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-2', qty: 1 }], total: 42.5, gift: false },
              attributes: { 'cart.items': 2, 'cart.currency': 'EUR' },
            });
            s.end(T(9000007));
          },
        );
        await fe.tracer.startActiveSpan(
          'POST /api/checkout',
          {
            kind: api.SpanKind.CLIENT,
            startTime: T(10000011),
            attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', 'server.address': 'checkout', 'server.port': 8080 },
          },
          async (client) => {
            await checkoutService(co, pay, injectHeaders(), { T, D, i, failing, messaging, emit, firstRoot });
            client.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, failing ? 502 : 200);
            if (failing) client.setStatus({ code: api.SpanStatusCode.ERROR, message: 'checkout returned 502' });
            client.end(T(D - 10000013));
          },
        );
        root.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, failing ? 502 : 200);
        if (failing) {
          root.setStatus({ code: api.SpanStatusCode.ERROR, message: 'HTTP 502: payment declined' });
          emit(fe, {
            timestamp: T(D - 5000017),
            severityNumber: SeverityNumber.ERROR,
            severityText: 'ERROR',
            body: 'checkout failed, showing error page',
            attributes: { 'http.response.status_code': 502 },
          });
        } else {
          root.setStatus({ code: api.SpanStatusCode.OK });
        }
        root.end(T(D));
      },
    );
  }

  // A few records outside any span: they must be stored without trace ids.
  const outsideLogs = [];
  for (const [s, sev, text] of [
    [svc.frontend, SeverityNumber.INFO, 'INFO'],
    [svc.payment, SeverityNumber.WARN, 'WARN'],
  ]) {
    const marker = `outside-${tracestateLabel(label)}-${s.name}-${Math.random().toString(36).slice(2, 10)}`;
    emit(s, {
      severityNumber: sev,
      severityText: text,
      body: `background job finished (${marker})`,
      attributes: { 'job.name': 'warmup', 'job.duration_ms': 12 },
    });
    outsideLogs.push({ service: s.name, marker });
  }

  await Promise.all(SERVICES.flatMap((n) => [svc[n].tracerProvider.forceFlush(), svc[n].loggerProvider.forceFlush()]));
  await Promise.all(SERVICES.flatMap((n) => [svc[n].tracerProvider.shutdown(), svc[n].loggerProvider.shutdown()]));
  await Promise.all(
    SERVICES.map((n) => (svc[n].extraExporters.metrics ? svc[n].extraExporters.metrics.shutdown() : null)),
  );

  const spans = exports.filter((e) => e.signal === 'traces').flatMap((e) => e.items);
  const logs = exports.filter((e) => e.signal === 'logs').flatMap((e) => e.items);
  return { label, spans, logs, exports, traceIds, outsideLogs, diagFrom };
}

async function checkoutService(co, pay, headers, ctx) {
  const { T, D, i, failing, messaging, emit } = ctx;
  await co.tracer.startActiveSpan(
    'POST /api/checkout',
    {
      kind: api.SpanKind.SERVER,
      startTime: T(12000017),
      attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', [ATTR_HTTP_ROUTE]: '/api/checkout', 'order.id': `ord-${i}` },
    },
    extractContext(headers),
    async (srv) => {
      emit(co, {
        timestamp: T(13000019),
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
        body: {
          event: 'order.created',
          order: { id: `ord-${i}`, lines: [{ sku: 'A-1', qty: 2, price: 10.25 }], paid: false, coupon: null },
          tags: ['web', 'eu'],
        },
        attributes: { 'order.id': `ord-${i}`, 'order.total': 20.5, 'order.lines': 1, 'order.express': true },
      });
      await co.tracer.startActiveSpan(
        'reserve inventory',
        { kind: api.SpanKind.INTERNAL, startTime: T(14000021) },
        async (s) => {
          s.addEvent('inventory.reserved', { 'sku.count': 3, skus: ['A-1', 'B-2', 'C-3'] }, T(15000023));
          emit(co, {
            timestamp: T(16000025),
            severityNumber: SeverityNumber.DEBUG2,
            severityText: 'debug2',
            body: 3,
            attributes: { 'inventory.warehouse': 'ams-1', 'inventory.blob': new Uint8Array([0, 1, 2, 250, 255]) },
          });
          s.end(T(20000027));
        },
      );
      await co.tracer.startActiveSpan(
        'POST /charge',
        {
          kind: api.SpanKind.CLIENT,
          startTime: T(21000029),
          attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', 'server.address': 'payment' },
        },
        async (cl) => {
          await paymentService(pay, injectHeaders(), ctx);
          cl.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, failing ? 402 : 200);
          if (failing) cl.setStatus({ code: api.SpanStatusCode.ERROR, message: 'payment answered 402' });
          cl.end(T(D - 40000031));
        },
      );
      if (messaging) {
        let carrier;
        await co.tracer.startActiveSpan(
          'orders publish',
          {
            kind: api.SpanKind.PRODUCER,
            startTime: T(D - 38000033),
            attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders', 'messaging.batch.message_count': 1 },
          },
          async (p) => {
            carrier = injectHeaders();
            p.end(T(D - 36000035));
          },
        );
        await paymentConsumer(pay, carrier, ctx);
      }
      if (failing) {
        srv.setStatus({ code: api.SpanStatusCode.ERROR, message: 'payment declined' });
        emit(co, {
          timestamp: T(D - 25000037),
          severityNumber: SeverityNumber.WARN,
          severityText: 'WARN',
          body: 'order not paid, releasing inventory',
          attributes: { 'order.id': `ord-${i}` },
        });
      }
      srv.end(T(D - 20000039));
    },
  );
}

async function paymentService(pay, headers, ctx) {
  const { T, D, i, failing, emit } = ctx;
  await pay.tracer.startActiveSpan(
    'POST /charge',
    { kind: api.SpanKind.SERVER, startTime: T(22000041), attributes: { [ATTR_HTTP_ROUTE]: '/charge', 'payment.amount': 20.5 } },
    extractContext(headers),
    async (srv) => {
      await pay.tracer.startActiveSpan(
        'card.authorize',
        { kind: api.SpanKind.INTERNAL, startTime: T(23000043), attributes: { 'card.network': 'visa', 'card.last4': '4242' } },
        async (s) => {
          if (failing) {
            const err = new Error('card declined: insufficient funds');
            err.name = 'CardDeclinedError';
            s.recordException(err, T(D - 300000045));
            s.setStatus({ code: api.SpanStatusCode.ERROR, message: 'card declined: insufficient funds' });
            emit(pay, {
              timestamp: T(D - 300000047),
              severityNumber: SeverityNumber.ERROR,
              severityText: 'ERROR',
              body: 'authorization failed',
              exception: err,
              attributes: { 'payment.provider': 'acme-pay', 'payment.attempt': 2 },
            });
            s.end(T(D - 60000049));
          } else {
            emit(pay, {
              timestamp: T(24000051),
              severityNumber: SeverityNumber.INFO2,
              severityText: 'INFO2',
              body: ['authorized', 20.5, true, `auth-${i}`],
              attributes: { 'payment.provider': 'acme-pay', 'payment.latency_ms': 87.25 },
            });
            s.end(T(30000053));
          }
        },
      );
      if (failing) srv.setStatus({ code: api.SpanStatusCode.ERROR, message: 'HTTP 402' });
      else {
        emit(pay, {
          timestamp: T(31000055),
          eventName: 'payment.captured',
          severityNumber: SeverityNumber.INFO,
          severityText: 'INFO',
          attributes: { 'payment.amount': 20.5, 'payment.currency': 'EUR' },
        });
      }
      srv.end(T(failing ? D - 50000057 : 32000059));
    },
  );
}

async function paymentConsumer(pay, carrier, ctx) {
  const { T, D, emit, firstRoot } = ctx;
  const producerCtx = api.trace.getSpanContext(extractContext(carrier));
  const links = [{ context: producerCtx, attributes: { 'link.reason': 'message' } }];
  if (firstRoot) links.push({ context: firstRoot, attributes: { 'link.reason': 'same-customer', 'link.attempt': 2 } });
  await pay.tracer.startActiveSpan(
    'orders process',
    {
      kind: api.SpanKind.CONSUMER,
      startTime: T(D - 34000061),
      links,
      attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'process' },
    },
    extractContext(carrier),
    async (s) => {
      emit(pay, {
        timestamp: T(D - 33000063),
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
        body: 'order message processed',
        attributes: { 'messaging.message.id': 'm-1' },
      });
      s.end(T(D - 32000065));
    },
  );
}
