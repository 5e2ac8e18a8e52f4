// Sends the lines jobs write to the gateway in batches, at most every half second, and never holds more than a
// bounded number per attempt: past that, the oldest are dropped and a line says how many.
import type { Logger } from '../common/logger';
import { AgentRefused, type GatewayClient } from './gateway-client';
import type { LogLine } from './runtimes/runtime';

const FLUSH_MS = 500;
const BATCH = 500;
const MAX_BUFFERED = 10_000;

const APPEND = `mutation($input: AppendJobLogsInput!) { appendJobLogs(input: $input) { accepted } }`;

interface Buffer {
  token: string;
  lines: LogLine[];
  dropped: number;
  sending?: Promise<void>;
}

export class LogShipper {
  private readonly buffers = new Map<string, Buffer>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly client: GatewayClient,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => {
      for (const attemptId of this.buffers.keys()) void this.flush(attemptId);
    }, FLUSH_MS);
    this.timer.unref();
  }

  add(attemptId: string, token: string, line: LogLine): void {
    let buffer = this.buffers.get(attemptId);
    if (!buffer) {
      buffer = { token, lines: [], dropped: 0 };
      this.buffers.set(attemptId, buffer);
    }
    buffer.lines.push(line);
    if (buffer.lines.length > MAX_BUFFERED) {
      buffer.lines.shift();
      buffer.dropped += 1;
    }
  }

  /** Sends what is buffered for an attempt; resolves when the gateway has it (or refused it). */
  async flush(attemptId: string): Promise<void> {
    const buffer = this.buffers.get(attemptId);
    if (!buffer) return;
    if (buffer.sending) await buffer.sending;
    while (buffer.lines.length > 0) {
      if (buffer.dropped > 0) {
        buffer.lines.unshift({ stream: 'stderr', text: `[touchline: ${buffer.dropped} earlier lines were dropped]`, at: new Date() });
        buffer.dropped = 0;
      }
      const batch = buffer.lines.splice(0, BATCH);
      buffer.sending = this.send(attemptId, buffer.token, batch).catch((error: unknown) => {
        if (error instanceof AgentRefused) {
          this.logger.warn({ err: error, attemptId, lines: batch.length }, 'the gateway refused job log lines; dropped them');
          return;
        }
        buffer.lines.unshift(...batch);
        throw error;
      });
      try {
        await buffer.sending;
      } catch (error) {
        this.logger.debug({ err: error, attemptId }, 'could not ship job logs yet; will retry');
        return;
      } finally {
        buffer.sending = undefined;
      }
    }
  }

  /** Flushes, then forgets the attempt. */
  async close(attemptId: string): Promise<void> {
    await this.flush(attemptId);
    this.buffers.delete(attemptId);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async send(attemptId: string, token: string, lines: LogLine[]): Promise<void> {
    await this.client.call(APPEND, {
      input: { attemptId, token, lines: lines.map((line) => ({ stream: line.stream.toUpperCase(), text: line.text, at: line.at.toISOString() })) },
    });
  }
}
