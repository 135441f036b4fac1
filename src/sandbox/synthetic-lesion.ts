import sharp from 'sharp';

/**
 * A synthetic pink lesion with an ulcer-like crust, thin red branching lines and a blue-grey dot, drawn with
 * sharp (the picture `npm run demo` sends): unlike `lesionJpeg`, the model finds evidence in it, so
 * the card carries heatmaps worth looking at. Never the shared research images. Used by `npm run demo` and the browser tests.
 */
export async function telangiectaticLesionJpeg(width = 640, height = 480): Promise<Buffer> {
  // Found by a small random search over drawn lesions against model 1.3.0 (raw BCC 0.23, arborizing
  // present: high priority). A drawing is out of distribution for the model; its gate only warns here.
  const vessels = [
    'M325 217 Q357 291 329 153', 'M228 320 Q176 264 248 284', 'M278 140 Q247 154 308 207', 'M390 288 Q433 219 463 305',
    'M186 230 Q125 180 243 174', 'M294 167 Q231 153 364 68', 'M450 180 Q442 163 356 272', 'M436 306 Q387 261 345 233',
    'M218 243 Q139 176 264 198', 'M358 250 Q313 329 446 190',
  ].join(' ');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480" viewBox="0 0 640 480" preserveAspectRatio="none">
    <defs><radialGradient id="g"><stop offset="0" stop-color="#c07080"/><stop offset="0.8" stop-color="#c07080"/><stop offset="1" stop-color="#f0c8b4"/></radialGradient></defs>
    <rect width="100%" height="100%" fill="#f0c8b4"/><ellipse cx="320" cy="240" rx="171" ry="145" fill="url(#g)"/>
    <ellipse cx="347" cy="238" rx="35" ry="21" fill="#8a2a1a"/>
    <path d="${vessels}" stroke="#d04050" stroke-width="2.2" fill="none"/>
    <ellipse cx="436" cy="327" rx="7.4" ry="10.5" fill="#5a6a8a" opacity="0.87"/></svg>`;
  return sharp(Buffer.from(svg)).resize(width, height, { fit: 'fill' }).jpeg({ quality: 92 }).toBuffer();
}
