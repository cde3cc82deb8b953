#!/usr/bin/env node
// Draws assets/icon.png (512×512, the app icon electron-builder packages): a slate rounded
// square with a whetstone bar and a blade edge. Rerun after changing the drawing.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const size = 512;
const pixels = Buffer.alloc(size * size * 4);

function inRoundedSquare(x, y, inset, radius) {
  const lo = inset + radius;
  const hi = size - inset - radius;
  const dx = Math.max(lo - x, 0, x - hi);
  const dy = Math.max(lo - y, 0, y - hi);
  return dx * dx + dy * dy <= radius * radius;
}

for (let y = 0; y < size; y++) {
  for (let x = 0; x < size; x++) {
    const i = (y * size + x) * 4;
    if (!inRoundedSquare(x + 0.5, y + 0.5, 16, 96)) continue;
    const t = y / size;
    let [r, g, b] = [30 + 20 * t, 41 + 20 * t, 59 + 30 * t]; // slate background
    // The stone: a bar rotated -30°, warm grey with a lighter top face.
    const u = (x - 256) * Math.cos(Math.PI / 6) + (y - 256) * Math.sin(Math.PI / 6);
    const v = -(x - 256) * Math.sin(Math.PI / 6) + (y - 256) * Math.cos(Math.PI / 6);
    if (Math.abs(u) < 170 && Math.abs(v) < 56)
      [r, g, b] = v < -20 ? [214, 204, 186] : [168, 156, 138];
    // The edge: a thin bright line crossing the stone.
    if (Math.abs(v + 92) < 7 && Math.abs(u) < 200) [r, g, b] = [125, 211, 252];
    pixels.set([r, g, b, 255], i);
  }
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function crc32(bytes) {
  let c = ~0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

const header = Buffer.alloc(13);
header.writeUInt32BE(size, 0);
header.writeUInt32BE(size, 4);
header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
const rows = Buffer.alloc(size * (size * 4 + 1));
for (let y = 0; y < size; y++)
  pixels.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', header),
  chunk('IDAT', deflateSync(rows, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets', 'icon.png');
writeFileSync(out, png);
console.log(`wrote ${out} (${png.length} bytes)`);
