// Draws media/icon.png (128x128): the XSAVE area of a Sapphire Rapids CPU as coloured bands, the
// legacy region, AVX/AVX-512 and the large TILEDATA block, so the icon says what the tool shows.
// Plain zlib + CRC32, no image library. Run: node scripts/make-icon.mjs
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';

const W = 128, H = 128;
const px = new Uint8Array(W * H * 4);
function rect(x0, y0, x1, y1, [r, g, b]) {
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
    const i = (y * W + x) * 4; px[i] = r; px[i + 1] = g; px[i + 2] = b; px[i + 3] = 255;
  }
}
rect(0, 0, W, H, [30, 34, 42]);
// Bands proportional to the compacted layout: legacy+header 576, AVX 256, AVX-512 1600, PKRU, TILECFG, TILEDATA 8192.
const bands = [[576, [86, 156, 214]], [256, [78, 201, 176]], [1600, [197, 134, 192]], [128, [220, 220, 170]], [8192, [206, 145, 120]]];
const total = bands.reduce((s, [n]) => s + n, 0);
let y = 12;
for (const [n, c] of bands) {
  const h = Math.max(6, Math.round((n / total) * 104));
  rect(14, y, 114, Math.min(y + h - 2, 116), c);
  y += h;
}
// Eight tile rows inside TILEDATA.
for (let t = 0; t < 8; t++) rect(20 + t * 12, 70, 28 + t * 12, 110, [150, 90, 70]);

const raw = Buffer.alloc((W * 4 + 1) * H);
for (let r = 0; r < H; r++) { raw[r * (W * 4 + 1)] = 0; Buffer.from(px.buffer, r * W * 4, W * 4).copy(raw, r * (W * 4 + 1) + 1); }
const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
  return Buffer.concat([len, td, c]);
}
const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(W, 0); ihdr.writeUInt32BE(H, 4); ihdr[8] = 8; ihdr[9] = 6;
writeFileSync(new URL('../media/icon.png', import.meta.url), Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
]));
