// Example: OpenTelemetry tracing of sends with a send hook. Each attempt gets a PRODUCER span, a
// child of the span active when send() was called; its W3C trace context (`traceparent`, and
// `tracestate` when there is one) travels as user properties of the message, so a consumer can
// continue the trace; afterSend ends the span with the outcome. Uses only @opentelemetry/api: the
// application registers a tracer provider and the W3C propagator (NodeSDK and WebTracerProvider do).
import { SpanKind, SpanStatusCode, context, propagation, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { SendContext, SendHook } from '@rocketmq-edge/core';

export function openTelemetryHook(tracer: Tracer = trace.getTracer('rocketmq-edge')): SendHook {
  const spans = new WeakMap<SendContext, Span>();
  return {
    beforeSend(ctx) {
      const span = tracer.startSpan(`${ctx.message.topic} publish`, {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'rocketmq',
          'messaging.operation': 'publish',
          'messaging.destination.name': ctx.message.topic,
          'messaging.rocketmq.client_group': ctx.producerGroup,
          'messaging.message.id': ctx.msgId,
          'messaging.rocketmq.send_mode': ctx.mode,
          'messaging.rocketmq.attempt': ctx.attempt,
          'server.address': ctx.brokerAddr,
        },
      });
      spans.set(ctx, span);
      // Writes `traceparent` (and `tracestate`) into the properties this attempt adds to the message.
      propagation.inject(trace.setSpan(context.active(), span), ctx.properties);
    },
    afterSend(ctx) {
      const span = spans.get(ctx);
      if (!span) return;
      if (ctx.error !== undefined) {
        span.recordException(ctx.error instanceof Error ? ctx.error : String(ctx.error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(ctx.error) });
      } else if (ctx.result) {
        span.setAttributes({ 'messaging.rocketmq.send_status': ctx.result.sendStatus, 'messaging.destination.partition.id': `${ctx.result.messageQueue.queueId}` });
      }
      span.end();
    },
  };
}
