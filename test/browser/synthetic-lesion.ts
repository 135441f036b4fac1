import sharp from 'sharp';

/**
 * A synthetic pink lesion crossed by thin red branching lines and two blue-grey dots, drawn with
 * sharp (the picture `npm run demo` sends): unlike `lesionJpeg`, the model finds evidence in it, so
 * the card carries heatmaps worth looking at. Never the shared research images.
 */
export async function telangiectaticLesionJpeg(width = 640, height = 480): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480" viewBox="0 0 640 480" preserveAspectRatio="none">
    <defs><radialGradient id="g"><stop offset="0" stop-color="#c98f9a"/><stop offset="0.7" stop-color="#b0707a"/><stop offset="1" stop-color="#e6b8a8"/></radialGradient></defs>
    <rect width="100%" height="100%" fill="#e9c1ad"/><ellipse cx="320" cy="240" rx="190" ry="150" fill="url(#g)"/>
    <path d="M200 220 Q260 180 320 230 T450 240 M250 300 Q300 260 360 300 M330 160 Q340 220 300 280" stroke="#b3263a" stroke-width="4" fill="none"/>
    <circle cx="280" cy="250" r="14" fill="#5a6a8a" opacity="0.8"/><circle cx="380" cy="210" r="10" fill="#5a6a8a" opacity="0.8"/></svg>`;
  return sharp(Buffer.from(svg)).resize(width, height, { fit: 'fill' }).jpeg({ quality: 92 }).toBuffer();
}
