import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs ffmpeg/ffprobe asynchronously (the server under test shares this process's event loop). */
export async function tool(cmd: 'ffmpeg' | 'ffprobe', args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(cmd, args, { maxBuffer: 256 * 1024 * 1024 });
}

/** Hashes of the decoded frames of one stream, in presentation order (the framemd5 hash column). */
export async function frameHashes(input: string, map: string, extra: string[] = []): Promise<string[]> {
  const { stdout } = await tool('ffmpeg', ['-v', 'error', ...extra, '-i', input, '-map', map, '-fps_mode', 'passthrough', '-f', 'framemd5', '-']);
  return stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').at(-1)!.trim());
}

export interface ProbedPacket {
  pts: number;
  dts: number;
  duration: number;
  size: number;
  keyframe: boolean;
}

export async function probePackets(input: string, stream: string): Promise<ProbedPacket[]> {
  const { stdout } = await tool('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time,dts_time,duration_time,size,flags', '-of', 'json', input]);
  const j = JSON.parse(stdout) as { packets: Array<Record<string, string>> };
  return j.packets.map((p) => ({
    pts: Number(p['pts_time']),
    dts: Number(p['dts_time']),
    duration: Number(p['duration_time'] ?? 0),
    size: Number(p['size']),
    keyframe: (p['flags'] ?? '').includes('K'),
  }));
}

export async function probeStreams(input: string): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await tool('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', input]);
  return (JSON.parse(stdout) as { streams: Array<Record<string, unknown>> }).streams;
}

/** The bytes of an ffprobe hexdump (a `-show_data` packet `data` or stream `extradata` field). */
export function ffprobeBytes(text: string): Buffer {
  const hex = text
    .split('\n')
    .filter((l) => l.length > 10)
    .map((l) => l.slice(10, 49).replace(/ /g, ''))
    .join('');
  return Buffer.from(hex, 'hex');
}
