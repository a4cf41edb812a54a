/**
 * The running live streams of a config: started with the server, stopped with it, and on a config
 * reload started, stopped or restarted (only when what ingest depends on changed: inputs, segment
 * duration, DVR), so a reload that changes a stream's drm or tokens does not interrupt its ingest.
 */
import type { Config, StreamConfig } from '../config/model.js';
import { keyRotation } from '../config/drm.js';
import { keyPeriodOf } from '../keys/rotation.js';
import { LiveStream } from '../source/live/live-stream.js';
import type { KeyPeriodOf } from '../source/live/periods.js';
import type { Logger } from './logger.js';

function ingestKey(s: StreamConfig): string {
  return JSON.stringify({ inputs: s.inputs, segmentDuration: s.segmentDuration, dvr: s.dvr ? [s.dvr.path, s.dvr.depthSeconds] : null });
}

/** The key rotation of a stream as the DASH Period split needs it (the handler's keys use the same rule). */
function rotationOf(s: StreamConfig): { key: string; fn: KeyPeriodOf } {
  const rotation = s.drm ? keyRotation(s.drm) : undefined;
  return { key: JSON.stringify(rotation ?? null), fn: rotation && ((seg) => keyPeriodOf(rotation, seg)) };
}

export class LiveStreams {
  private readonly running = new Map<string, { key: string; rotation: string; stream: LiveStream }>();

  constructor(private readonly log: Logger) {}

  get(name: string): LiveStream | undefined {
    return this.running.get(name)?.stream;
  }

  all(): LiveStream[] {
    return [...this.running.values()].map((r) => r.stream);
  }

  /** Brings the running set in line with `config`. */
  async apply(config: Config): Promise<void> {
    const wanted = new Map(config.streams.map((s) => [s.name, s]));
    for (const [name, r] of [...this.running]) {
      const next = wanted.get(name);
      if (!next || ingestKey(next) !== r.key) {
        this.running.delete(name);
        await r.stream.stop();
        this.log.info(next ? 'live stream restarting (ingest settings changed)' : 'live stream removed', { stream: name });
      } else {
        const rotation = rotationOf(next);
        if (rotation.key !== r.rotation) {
          r.stream.setKeyPeriods(rotation.fn);
          r.rotation = rotation.key;
        }
      }
    }
    for (const s of config.streams) {
      if (this.running.has(s.name)) continue;
      const rotation = rotationOf(s);
      const stream = await LiveStream.start({
        name: s.name,
        inputs: s.inputs,
        segmentDuration: s.segmentDuration,
        ...(s.dvr ? { dvr: { path: s.dvr.path, depthSeconds: s.dvr.depthSeconds } } : {}),
        log: (level, message, fields) => this.log[level](message, fields),
        ...(rotation.fn ? { keyPeriodOf: rotation.fn } : {}),
      });
      this.running.set(s.name, { key: ingestKey(s), rotation: rotation.key, stream });
      this.log.info('live stream started', { stream: s.name, input: s.inputs[0], dvr: s.dvr?.path });
    }
  }

  async stopAll(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((r) => r.stream.stop()));
  }
}
