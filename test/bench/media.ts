/**
 * The benchmark's source file: one hour of 720p25 H.264 (B-frames, 2 s GOP) + AAC-LC 48 kHz stereo,
 * about 90,000 video and 168,750 audio samples. Generated on first use into test/bench/media/
 * (git-ignored) and reused while ffprobe says it is whole.
 *
 * x264 on this kind of machine encodes 720p at ~10x real time on one core, so a straight one-hour
 * encode takes 5–6 minutes. Instead a 6-minute video chunk is encoded once and looped ten times with
 * stream copy (each loop starts on an IDR of a closed GOP, so the result is a valid continuous stream
 * with continuous timestamps), while the audio is encoded for the whole hour on the other core.
 * The sample tables, sizes and interleaving are those of an ordinary ffmpeg-made file, which is all
 * the index and the segment reads see.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './proc.js';

export const MEDIA_DIR = join(import.meta.dirname, 'media');
/** Bump the suffix when the recipe changes, so an old file is not taken for the new one. */
export const MEDIA_FILE = 'bench-720p25-1h-v1.mp4';

const DURATION_S = 3600;
const CHUNK_S = 360;
const FPS = 25;
const GOP = 50;
const AUDIO_RATE = 48_000;
/** A step that takes longer than this is stuck (a healthy generation takes about a minute in all). */
const STEP_TIMEOUT_MS = 5 * 60_000;

export interface BenchMedia {
  readonly path: string;
  readonly dir: string;
  readonly file: string;
  readonly bytes: number;
  readonly durationS: number;
  /** Seconds spent generating, or null when an existing file was reused. */
  readonly generatedInS: number | null;
}

interface Probe {
  readonly durationS: number;
  readonly ok: boolean;
  readonly why: string;
}

async function probe(path: string): Promise<Probe> {
  const r = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name,width,height,sample_rate', '-of', 'json', path], {
    timeoutMs: 60_000,
    allowFailure: true,
  });
  if (r.code !== 0) return { durationS: 0, ok: false, why: `ffprobe failed: ${r.stderr.trim().split('\n').at(-1) ?? ''}` };
  const j = JSON.parse(r.stdout) as { format?: { duration?: string }; streams?: Array<Record<string, string | number | undefined>> };
  const durationS = Number(j.format?.duration ?? 0);
  const streams = j.streams ?? [];
  const video = streams.find((s) => s['codec_name'] === 'h264' && s['width'] === 1280 && s['height'] === 720);
  const audio = streams.find((s) => s['codec_name'] === 'aac' && Number(s['sample_rate']) === AUDIO_RATE);
  if (!video || !audio) return { durationS, ok: false, why: 'missing a 720p H.264 or a 48 kHz AAC stream' };
  if (Math.abs(durationS - DURATION_S) > 1) return { durationS, ok: false, why: `duration ${durationS} s` };
  return { durationS, ok: true, why: '' };
}

/**
 * Size and mtime of the file as generated. ffprobe reads only the moov of a faststart file, so it
 * would not notice a file cut short or rewritten later; the stamp does.
 */
function stampOf(st: { size: number; mtimeMs: number }): string {
  return `${st.size} ${Math.floor(st.mtimeMs)}\n`;
}

/** Returns the bench file, generating it when it is missing or damaged. */
export async function ensureBenchMedia(log: (line: string) => void): Promise<BenchMedia> {
  const path = join(MEDIA_DIR, MEDIA_FILE);
  const stampPath = `${path}.ok`;
  const existing = await stat(path).catch(() => null);
  if (existing) {
    const stamp = await readFile(stampPath, 'utf8').catch(() => '');
    const p = stamp === stampOf(existing) ? await probe(path) : { durationS: 0, ok: false, why: 'not the file that was generated' };
    if (p.ok) return { path, dir: MEDIA_DIR, file: MEDIA_FILE, bytes: existing.size, durationS: p.durationS, generatedInS: null };
    log(`bench media ${path} is unusable (${p.why}); generating it again`);
  }
  await rm(stampPath, { force: true });
  await mkdir(MEDIA_DIR, { recursive: true });
  log(`generating ${DURATION_S / 3600} h of 720p25 H.264 + AAC into ${path} (about a minute, once)`);
  const t0 = performance.now();
  const video = join(MEDIA_DIR, 'chunk-video.tmp.mp4');
  const audio = join(MEDIA_DIR, 'audio.tmp.m4a');
  const partial = `${path}.tmp.mp4`;
  try {
    const common = ['-v', 'error', '-y', '-nostdin'];
    await Promise.all([
      run('ffmpeg', [
        ...common,
        ...['-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=${FPS}`],
        ...['-frames:v', String(CHUNK_S * FPS), '-an'],
        // ultrafast turns B-frames off; real files have them (and so a composition offset table).
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', String(GOP), '-keyint_min', String(GOP), '-sc_threshold', '0'],
        ...['-b:v', '1500k', '-maxrate', '1500k', '-bufsize', '3000k', '-pix_fmt', 'yuv420p'],
        video,
      ], { timeoutMs: STEP_TIMEOUT_MS }),
      run('ffmpeg', [
        ...common,
        ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${AUDIO_RATE}`, '-ac', '2'],
        ...['-t', String(DURATION_S), '-vn', '-c:a', 'aac', '-b:a', '96k'],
        audio,
      ], { timeoutMs: STEP_TIMEOUT_MS }),
    ]);
    await run('ffmpeg', [
      ...common,
      ...['-stream_loop', String(DURATION_S / CHUNK_S - 1), '-i', video, '-i', audio],
      ...['-map', '0:v', '-map', '1:a', '-c', 'copy', '-t', String(DURATION_S)],
      // moov first, as packagers' sources usually are (the index reads it either way).
      ...['-movflags', '+faststart', '-f', 'mp4'],
      partial,
    ], { timeoutMs: STEP_TIMEOUT_MS });
    const p = await probe(partial);
    if (!p.ok) throw new Error(`generated bench media is wrong: ${p.why}`);
    // Renamed only when complete: an interrupted run never leaves a file that looks finished.
    await rename(partial, path);
    const st = await stat(path);
    await writeFile(stampPath, stampOf(st));
    const generatedInS = (performance.now() - t0) / 1000;
    return { path, dir: MEDIA_DIR, file: MEDIA_FILE, bytes: st.size, durationS: p.durationS, generatedInS };
  } finally {
    await Promise.all([video, audio, partial].map((f) => rm(f, { force: true })));
  }
}
