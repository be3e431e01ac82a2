// t/browser/lib/images.js — real images for the logo tests, built in memory.
import { deflateSync } from 'node:zlib';

// PNG's CRC-32 of a chunk's type and data
function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k += 1) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function pngChunk(type, data) {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}
// A real w x h PNG (RGB, one colour); pad adds a tEXt chunk of that many bytes.
export function makePng(w, h, pad = 0) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, 0x5d)]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.concat(Array(h).fill(row)))),
    ...(pad ? [pngChunk('tEXt', Buffer.from('Comment\0' + 'x'.repeat(pad), 'latin1'))] : []),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
