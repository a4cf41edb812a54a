/**
 * Independent readings of the fixtures to test the indexer against: ffprobe (FFmpeg's mov demuxer)
 * and mp4box.js.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFile, MP4BoxBuffer, type Movie, type Sample } from 'mp4box';

export const FIXTURES = ['bframes.mp4', 'moov-at-end.mp4', 'hevc.mp4', 'two-audio.mp4', 'multi-bitrate.mp4', 'sub/avc3.mp4'];

export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../../../fixtures/vod/${name}`, import.meta.url));
}


export interface ProbeStream {
  index: number;
  id: string;
  codec_type: string;
  codec_tag_string: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  time_base: string;
  tags?: { language?: string; handler_name?: string };
}

export interface ProbePacket {
  stream_index: number;
  pts: number;
  pts_time: string;
  dts: number;
  size: string;
  pos: string;
  flags: string;
}

export interface Probe {
  streams: ProbeStream[];
  packets: ProbePacket[];
}

export function ffprobe(path: string): Probe {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-show_packets', '-of', 'json', path], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Probe;
}

export interface Mp4boxView {
  info: Movie;
  samples(trackId: number): Sample[];
}

/** Feeds the whole fixture to mp4box.js (small files) and returns its movie info and sample lists. */
export function mp4box(path: string): Mp4boxView {
  const bytes = readFileSync(path);
  const file = createFile();
  let info: Movie | undefined;
  file.onReady = (i) => {
    info = i;
  };
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(ab, 0));
  file.flush();
  if (!info) throw new Error('mp4box did not parse the moov');
  const movie = info;
  return {
    info: movie,
    samples: (id) => file.getTrackSamplesInfo(id),
  };
}
