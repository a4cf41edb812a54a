/**
 * BENCH_CPU_PROF support for load.ts: a V8 CPU profile of this process (the server) over one variant's
 * timed load, and the garbage collector's pauses on the main thread over the same span (the profile's
 * "(garbage collector)" node misses pauses that land between samples; the GC's helper threads appear in
 * neither, only in the process CPU the bench reports).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

export interface GcPauses {
  readonly count: number;
  readonly ms: number;
  /** ms by kind: scavenge (young generation), mark-sweep, incremental marking, weak callbacks. */
  readonly byKind: Record<string, number>;
}

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-sweep',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};

export class ServerProfile {
  private readonly session = new Session();
  private started: Promise<void> | undefined;
  private gc: { count: number; ms: number; byKind: Record<string, number> } = { count: 0, ms: 0, byKind: {} };
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = KINDS[((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind ?? -1] ?? 'other';
      this.gc.count++;
      this.gc.ms += e.duration;
      this.gc.byKind[kind] = (this.gc.byKind[kind] ?? 0) + e.duration;
    }
  });

  constructor(
    private readonly dir: string,
    private readonly intervalUs: number,
  ) {
    this.session.connect();
  }

  /** Called when the load starts: no await in between, so the profile covers it from the start. */
  start(): void {
    this.gc = { count: 0, ms: 0, byKind: {} };
    this.observer.observe({ entryTypes: ['gc'] });
    this.started = (async () => {
      await this.session.post('Profiler.enable');
      await this.session.post('Profiler.setSamplingInterval', { interval: this.intervalUs });
      await this.session.post('Profiler.start');
    })();
  }

  /** Called when the load is over; writes DIR/<name>.cpuprofile and returns the GC pauses. */
  async stop(name: string): Promise<GcPauses> {
    this.observer.disconnect();
    const gc = this.gc;
    await this.started;
    const { profile } = await this.session.post('Profiler.stop');
    await writeFile(join(this.dir, `${name}.cpuprofile`), JSON.stringify(profile));
    return gc;
  }

  close(): void {
    this.session.disconnect();
  }
}
