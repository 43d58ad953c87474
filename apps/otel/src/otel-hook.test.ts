// The OpenTelemetry example against the embedded broker over TCP: the traceparent stored with the
// message is the exported PRODUCER span's, a child of the span active at send(); a failed
// attempt ends its span with an error.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { Producer } from '@rocketmq-edge/core';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { openTelemetryHook } from './otel-hook.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let dir: string;
let embedded: Awaited<ReturnType<typeof startEmbedded>>;
let transport: TcpTransport;
let producer: Producer;

before(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  dir = await mkdtemp(join(tmpdir(), 'rmq-edge-otel-'));
  embedded = await startEmbedded({ dataDir: dir, host: '127.0.0.1', namesrvPort: 0, brokerPort: 0 });
  transport = new TcpTransport({ namesrvAddr: embedded.namesrv.addr });
  producer = new Producer({ transport, producerGroup: 'otel_example', retryTimesWhenSendFailed: 0 });
  producer.use(openTelemetryHook());
  await producer.start();
});

after(async () => {
  await producer?.shutdown();
  await transport?.close();
  await embedded?.close();
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the stored message carries the traceparent of its PRODUCER span, a child of the active span', async () => {
  const topic = `OTEL_${process.pid}`;
  const tracer = trace.getTracer('test');
  const result = await tracer.startActiveSpan('checkout', async (parent) => {
    try {
      return await producer.send({ topic, body: 'order 1', properties: { shop: 'x' } });
    } finally {
      parent.end();
    }
  });
  const spans = exporter.getFinishedSpans();
  const span = spans.find((s) => s.kind === SpanKind.PRODUCER)!;
  const parent = spans.find((s) => s.name === 'checkout')!;
  assert.equal(span.name, `${topic} publish`);
  assert.equal(span.spanContext().traceId, parent.spanContext().traceId);
  assert.equal(span.parentSpanContext?.spanId, parent.spanContext().spanId);
  assert.equal(span.attributes['messaging.message.id'], result.msgId);
  assert.equal(span.attributes['messaging.rocketmq.send_status'], 'SEND_OK');
  assert.equal(span.status.code, SpanStatusCode.UNSET);

  const [stored] = await readAll({ namesrvAddr: embedded.namesrv.addr, topic });
  assert.equal(stored!.msgId, result.msgId);
  assert.equal(stored!.properties.traceparent, `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  assert.equal(stored!.properties.shop, 'x');
});

test('a failed attempt ends its span with the error', async () => {
  exporter.reset();
  await assert.rejects(producer.send({ topic: 'SCHEDULE_TOPIC_XXXX', body: 'x' }));
  // A forbidden topic fails before any attempt: no span.
  assert.equal(exporter.getFinishedSpans().length, 0);
  await assert.rejects(producer.send({ topic: `OTEL_${process.pid}`, body: 'x' }, { queue: { topic: `OTEL_${process.pid}`, brokerName: embedded.broker.brokerName, queueId: 999 } }));
  const [span] = exporter.getFinishedSpans();
  assert.equal(span!.status.code, SpanStatusCode.ERROR);
  assert.ok(span!.events.some((e) => e.name === 'exception'));
});
