/** Events, decisions and state settings for tests that drive daemon/state/inbox.ts directly. */
import type { LoggedDecision, NewEvent } from '../../daemon/state/types.js';

export const inboxEvent = (eventId: string, payload = '{"id":1}'): NewEvent => ({
  pipeline: 'p',
  eventId,
  topic: 'a/b',
  receivedAt: 1000,
  deadlineAt: 1300,
  expiresAt: null,
  responseTopic: 'reply/x',
  correlation: Buffer.from('c'),
  payload: Buffer.from(payload),
  inputSha256: 'ab'.repeat(32),
});

export const inboxDecision = (
  replyTopic: string | null = 'reply/x',
  decisionName = 'accept',
): LoggedDecision => ({
  decision: decisionName,
  source: 'model',
  reason: 'ok',
  model: 'm',
  modelSha256: 'cd'.repeat(32),
  latencyMs: 1.5,
  decidedAt: 1001,
  message: `{"decision":"${decisionName}"}`,
  replyTopic,
});

export const inboxState = (dir: string) => ({ dir, retentionHours: 1, synchronous: 'normal' as const });
