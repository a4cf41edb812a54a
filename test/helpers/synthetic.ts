import { allocSampleTable, type SampleTable, type Track } from '../../src/media/track.js';

export { allocSampleTable };

/** Builds a sample table from plain arrays (tests only: production tables come from typed arrays). */
export function table(rows: { dts: number; cto?: number; duration: number; size?: number; sync?: boolean }[]): SampleTable {
  const t = allocSampleTable(rows.length);
  let off = 0;
  rows.forEach((r, i) => {
    t.dts[i] = r.dts;
    t.cto[i] = r.cto ?? 0;
    t.duration[i] = r.duration;
    t.size[i] = r.size ?? 100;
    t.offset[i] = off;
    off += t.size[i]!;
    t.sync[i] = r.sync === false ? 0 : 1;
  });
  return t;
}

/** A constant-frame-rate video track: `gop` frames per GOP, optional B-frame style reorder of 2 frames. */
export function videoTrack(opts: { id?: number; fps: number; seconds: number; gop: number; timescale?: number; bframes?: boolean; size?: number }): Track {
  const timescale = opts.timescale ?? opts.fps * 512;
  const d = timescale / opts.fps;
  const frames = Math.round(opts.seconds * opts.fps);
  const shift = opts.bframes ? 2 * d : 0;
  const rows = Array.from({ length: frames }, (_, i) => ({
    dts: i * d,
    // With B-frames every frame is shown 2 frames after it is decoded (enough for the planner's view).
    cto: shift,
    duration: d,
    size: opts.size ?? 1000,
    sync: i % opts.gop === 0,
  }));
  return base({ id: opts.id ?? 1, kind: 'video', timescale, presentationOffset: shift, samples: table(rows) });
}

export function audioTrack(opts: { id?: number; rate?: number; seconds: number; priming?: number; language?: string }): Track {
  const rate = opts.rate ?? 48000;
  const frames = Math.ceil((opts.seconds * rate + (opts.priming ?? 0)) / 1024);
  const rows = Array.from({ length: frames }, (_, i) => ({ dts: i * 1024, duration: 1024, size: 300 }));
  return base({ id: opts.id ?? 2, kind: 'audio', timescale: rate, presentationOffset: opts.priming ?? 0, samples: table(rows), language: opts.language });
}

function base(p: { id: number; kind: 'video' | 'audio'; timescale: number; presentationOffset: number; samples: SampleTable; language?: string | undefined }): Track {
  const video = p.kind === 'video';
  return {
    id: p.id,
    kind: p.kind,
    sampleEntryType: video ? 'avc1' : 'mp4a',
    codecString: video ? 'avc1.64001f' : 'mp4a.40.2',
    timescale: p.timescale,
    codecConfig: new Uint8Array(0),
    sampleEntry: new Uint8Array(0),
    nalLengthSize: video ? 4 : 0,
    language: p.language ?? 'und',
    name: '',
    width: video ? 640 : 0,
    height: video ? 360 : 0,
    sampleRate: video ? 0 : p.timescale,
    channels: video ? 0 : 2,
    presentationOffset: p.presentationOffset,
    samples: p.samples,
  };
}
