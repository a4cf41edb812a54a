/**
 * Throughput of protectSamples against raw AES on this machine (not a test; run by hand):
 *   npx tsx test/unit/protect/measure-throughput.ts
 * A ~1 MB, 100-sample H.264 segment (50 fps, 8 Mb/s) and a 6 s AAC segment, encoded here with ffmpeg.
 * Prints microseconds per segment and GB/s; "raw" is one aes-128-ctr / aes-128-cbc call over the
 * same number of bytes, the floor any implementation on Node's crypto can reach.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fragmentLayout, writeFragment } from '../../../src/mux/fmp4/fragment.js';
import { protectSamples } from '../../../src/protect/encrypt-fragment.js';
import { cbcsConstantIv, cencIvBase } from '../../../src/protect/iv.js';
import { sliceHeaderScanner } from '../../../src/protect/slice-headers.js';
import { SubsampleMap, sampleSubsamples } from '../../../src/protect/subsamples.js';
import { KEY, type LoadedTrack, loadTrack, sampleBytes } from './helpers.js';

/** Best of 7 rounds of 50 runs: the machine is shared, the minimum is the least disturbed figure. */
function time(label: string, bytes: number, fn: () => void): number {
  for (let i = 0; i < 30; i++) fn();
  let us = Infinity;
  for (let round = 0; round < 7; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 50; i++) fn();
    us = Math.min(us, Number(process.hrtime.bigint() - t0) / 50 / 1000);
  }
  console.log(`${label.padEnd(52)} ${us.toFixed(0).padStart(6)} us  ${(bytes / us / 1000).toFixed(2)} GB/s`);
  return us;
}

function segment(t: LoadedTrack, start: number, end: number): void {
  const payload = sampleBytes(t, start, end);
  const bytes = payload.length;
  console.log(`\n${t.track.codecString}: ${end - start} samples, ${bytes} bytes`);
  const work = new Uint8Array(bytes);
  const raw = (alg: string, n: number) => () => {
    const c = createCipheriv(alg, KEY, Buffer.alloc(16)).setAutoPadding(false);
    work.set(c.update(work.subarray(0, n - (n % 16))));
  };
  const ctr = time('raw aes-128-ctr, one call over all bytes', bytes, raw('aes-128-ctr', bytes));
  time('raw aes-128-cbc, one call over 1/10 of the bytes', bytes, raw('aes-128-cbc', Math.floor(bytes / 10)));
  const copy = time('clear: copy samples + moof (no protection)', bytes, () => {
    work.set(payload);
    const input = { track: t.track, start, end, sequenceNumber: 1 };
    const layout = fragmentLayout(input);
    const buf = new Uint8Array(layout.totalSize);
    buf.set(payload, layout.mdatPayloadOffset);
    writeFragment(buf, input, layout);
  });
  if (t.track.kind === 'video') {
    time('subsample maps only (NAL walk + slice headers)', bytes, () => {
      const map = new SubsampleMap(end - start);
      const scanner = sliceHeaderScanner(t.track);
      let pos = 0;
      for (let i = start; i < end; i++) {
        sampleSubsamples(payload, pos, pos + t.track.samples.size[i]!, scanner, 'cenc', 40, map);
        pos += t.track.samples.size[i]!;
      }
    });
  }
  const ivBase = cencIvBase(KEY, 'bench', t.track.id);
  const constantIv = cbcsConstantIv(KEY);
  for (const scheme of ['cenc', 'cbcs'] as const) {
    const us = time(`protectSamples ${scheme} (copy + maps + cipher + moof)`, bytes, () => {
      work.set(payload);
      const protection = protectSamples({ track: t.track, start, end, data: work, at: 0, scheme, key: KEY, ivBase, constantIv });
      const input = { track: t.track, start, end, sequenceNumber: 1, protection };
      const layout = fragmentLayout(input);
      const buf = new Uint8Array(layout.totalSize);
      buf.set(work, layout.mdatPayloadOffset);
      writeFragment(buf, input, layout);
    });
    console.log(`  ${scheme}: ${(us / ctr).toFixed(2)}x raw CTR time, +${(us - copy).toFixed(0)} us over the clear path`);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'protect-bench-'));
try {
  const path = join(dir, 'bench.mp4');
  const r = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=50', '-f', 'lavfi',
    '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6', '-c:v', 'libx264', '-b:v', '8M', '-minrate', '8M', '-maxrate', '8M',
    '-bufsize', '2M', '-x264-params', 'keyint=100:scenecut=0:slices=2', '-c:a', 'aac', '-b:a', '128k', path,
  ]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  const video = await loadTrack(path, 'video');
  segment(video, 100, 200);
  const audio = await loadTrack(path, 'audio');
  segment(audio, 0, audio.track.samples.count);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
