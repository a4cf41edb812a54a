/**
 * Child process for the DVR kill -9 test: appends segments to the archive in `argv[2]` forever,
 * continuing after its last number, and prints each number once its append has resolved (= was
 * acknowledged). The test SIGKILLs it at an arbitrary moment.
 *
 *     node --import tsx test/unit/source/live/dvr-writer.child.ts <dir> <frameBytes>
 */
import { DvrArchive } from '../../../../src/source/live/dvr.js';
import { makeSegment } from './segment-fixture.js';

const [dir, frameBytes] = process.argv.slice(2);
if (dir === undefined || frameBytes === undefined) throw new Error('usage: dvr-writer.child.ts <dir> <frameBytes>');
const archive = await DvrArchive.open(dir, { depthSeconds: 1e9 });
for (let n = (archive.lastNumber() ?? -1) + 1; ; n++) {
  await archive.append(makeSegment(n, { frames: 25, frameBytes: Number(frameBytes) }));
  process.stdout.write(`${n}\n`);
}
