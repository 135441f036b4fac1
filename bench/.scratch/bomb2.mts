import sharp from 'sharp';
const base = () => sharp({ create: { width: 30000, height: 30000, channels: 3, background: '#000' }, limitInputPixels: false });
for (const [name, make] of [
  ['bw png9 nofilter', () => base().toColourspace('b-w').png({ compressionLevel: 9, adaptiveFiltering: false })],
  ['bw png6 nofilter', () => base().toColourspace('b-w').png({ compressionLevel: 6, adaptiveFiltering: false })],
  ['bw png1', () => base().toColourspace('b-w').png({ compressionLevel: 1, adaptiveFiltering: false })],
  ['rgb png9 nofilter', () => base().png({ compressionLevel: 9, adaptiveFiltering: false })],
] as const) {
  const t = Date.now();
  const buf = await make().toBuffer();
  console.log(name, Date.now() - t, 'ms', buf.length, 'bytes', process.memoryUsage().rss >> 20);
}
