// The MPD's SegmentTimeline names exactly the segments the server serves: every $Number$ it implies
// answers 200 with a fragment whose tfdt equals the timeline's t, and the next number is 404.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(`http 8080;\nfile vod { path ${FIXTURES}; protocols dash; segment_duration 4; }\n`);
});
afterAll(async () => server?.stop());

/** (t, d) of every segment of each Representation, expanded from the timelines (r repeats). */
function timelines(mpd: string): Map<string, Array<{ t: number; d: number }>> {
  const out = new Map<string, Array<{ t: number; d: number }>>();
  for (const set of mpd.split('<AdaptationSet').slice(1)) {
    const reps = [...set.matchAll(/<Representation id="([^"]+)"/g)].map((m) => m[1]!);
    const templates = [...set.matchAll(/<SegmentTimeline>([\s\S]*?)<\/SegmentTimeline>/g)].map((m) => m[1]!);
    reps.forEach((id, i) => {
      const body = templates.length === 1 ? templates[0]! : templates[i]!;
      const list: Array<{ t: number; d: number }> = [];
      let t = 0;
      for (const s of body.matchAll(/<S\s([^/]*)\/>/g)) {
        const attr = (n: string): number | undefined => {
          const m = new RegExp(`\\b${n}="(\\d+)"`).exec(s[1]!);
          return m ? Number(m[1]) : undefined;
        };
        t = attr('t') ?? t;
        const d = attr('d')!;
        for (let k = 0; k <= (attr('r') ?? 0); k++) {
          list.push({ t, d });
          t += d;
        }
      }
      out.set(id, list);
    });
  }
  return out;
}

function tfdt(segment: Buffer): number {
  const at = segment.indexOf(Buffer.from('tfdt'));
  const version = segment[at + 4]!;
  return version === 1 ? Number(segment.readBigUInt64BE(at + 8)) : segment.readUInt32BE(at + 8);
}

describe.each(['bframes.mp4', 'two-audio.mp4', 'multi-bitrate.mp4', 'hevc.mp4'])('%s', (file) => {
  it('serves every segment of every timeline, and nothing past it', async () => {
    const mpd = await (await fetch(`${server.url}/vod/${file}/index.mpd`)).text();
    const all = timelines(mpd);
    expect(all.size).toBeGreaterThan(1);
    for (const [id, list] of all) {
      expect(list.length).toBeGreaterThan(0);
      for (const [i, seg] of list.entries()) {
        const res = await fetch(`${server.url}/vod/${file}/dash/${id}/${i + 1}.m4s`);
        expect(res.status, `${id}/${i + 1}`).toBe(200);
        const body = Buffer.from(await res.arrayBuffer());
        // t is the segment's earliest presentation time; tfdt its decode time. They differ by the edit
        // list that trun's signed composition offsets carry (AAC priming: 1024 samples; the B-frame
        // shift of the video cancels on the IDR), never by more.
        expect(Math.abs(tfdt(body) - seg.t)).toBeLessThanOrEqual(1024);
      }
      expect((await fetch(`${server.url}/vod/${file}/dash/${id}/${list.length + 1}.m4s`)).status).toBe(404);
    }
  });
});
