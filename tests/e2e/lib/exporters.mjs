// Exporter factories for the shared scenario: each returns a function
// service -> { traces, logs, metrics } built from the official OpenTelemetry
// JS exporters, pointed at a running braid daemon over OTLP/HTTP or OTLP/gRPC.
// Only this part differs between transports; the scenario and the checks are
// shared.

import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogsJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as MetricsJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as TracesGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TracesJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TracesProto } from '@opentelemetry/exporter-trace-otlp-proto';

// encoding: 'protobuf' (http/protobuf) or 'json' (http/json);
// compression: 'none' or 'gzip'.
export function httpExporters(daemon, { encoding = 'protobuf', compression = 'none', timeoutMillis = 10000 } = {}) {
  const { host, port } = daemon.otlpAddr;
  const base = `http://${host}:${port}`;
  const [T, L, M] = encoding === 'json' ? [TracesJson, LogsJson, MetricsJson] : [TracesProto, LogsProto, MetricsProto];
  const opts = (p) => ({ url: `${base}${p}`, compression, timeoutMillis });
  return () => ({
    traces: new T(opts('/v1/traces')),
    logs: new L(opts('/v1/logs')),
    metrics: new M(opts('/v1/metrics')),
  });
}

export const HTTP_VARIANTS = [
  { name: 'http/protobuf', encoding: 'protobuf', compression: 'none' },
  { name: 'http/json', encoding: 'json', compression: 'none' },
  { name: 'http/protobuf+gzip', encoding: 'protobuf', compression: 'gzip' },
  { name: 'http/json+gzip', encoding: 'json', compression: 'gzip' },
];

// OTLP/gRPC to the daemon's otlp-grpc listener (cleartext, as the SDK does
// for an http:// URL); compression: 'none' or 'gzip'. Each service gets its
// own exporters, so its own gRPC channel.
export function grpcExporters(daemon, { compression = 'none', timeoutMillis = 10000 } = {}) {
  const { host, port } = daemon.grpcAddr;
  const opts = { url: `http://${host}:${port}`, compression, timeoutMillis };
  return () => ({
    traces: new TracesGrpc(opts),
    logs: new LogsGrpc(opts),
    metrics: new MetricsGrpc(opts),
  });
}

export const GRPC_VARIANTS = [
  { name: 'grpc', compression: 'none' },
  { name: 'grpc+gzip', compression: 'gzip' },
];
