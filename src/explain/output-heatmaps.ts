import type { InputRegion } from '../imaging/preprocess.ts';
import type { ModelFindings } from '../model/findings.ts';
import { selectCamChannel } from './cam-map.ts';
import { describeHeatmapPixels } from './heatmap-description.ts';
import { encodeOverlayPng, overlaySize, renderHeatmapPixels } from './heatmap-png.ts';

export interface OutputHeatmap {
  /** `bcc` or a pattern id: what the map explains. */
  readonly output: string;
  readonly display: string;
  /** RGBA PNG overlay, to lay over the image scaled to width x height. */
  readonly png: Buffer;
  readonly width: number;
  readonly height: number;
  /**
   * The overlay in words (heatmap-description.ts): where the strongest evidence lies and how much
   * of the image it covers. Absent only where a caller made the PNG some other way.
   */
  readonly description?: string;
}

export interface HeatmapSource {
  readonly cam: Float32Array;
  readonly camShape: { readonly channels: number; readonly height: number; readonly width: number };
  /** Channel ids in order: `bcc`, then the manifest's patterns. */
  readonly channelIds: readonly string[];
  readonly image: { readonly width: number; readonly height: number };
  readonly region: InputRegion;
  readonly findings: ModelFindings;
}

/** The outputs worth a map: BCC always, and each pattern the model found present (never an unassessed one). */
export function outputsToExplain(findings: ModelFindings): readonly { id: string; display: string }[] {
  return [
    { id: 'bcc', display: 'Basal cell carcinoma' },
    ...findings.patterns.filter((p) => p.status === 'present').map((p) => ({ id: p.id, display: p.display })),
  ];
}

/** The overlay frame for an image: its size (longest side <= maxSide) and the model's input region in overlay pixels. */
export function overlayFrame(
  image: HeatmapSource['image'],
  region: InputRegion,
  maxSide = 512,
): { readonly width: number; readonly height: number; readonly region: InputRegion } {
  const { width, height } = overlaySize(image.width, image.height, maxSide);
  const sx = width / image.width;
  const sy = height / image.height;
  return {
    width,
    height,
    region: {
      left: Math.round(region.left * sx),
      top: Math.round(region.top * sy),
      width: Math.max(1, Math.round(region.width * sx)),
      height: Math.max(1, Math.round(region.height * sy)),
    },
  };
}

/** One overlay PNG per output that matters, at the image's aspect, longest side <= maxSide. */
export async function renderOutputHeatmaps(src: HeatmapSource, maxSide = 512): Promise<OutputHeatmap[]> {
  const { width, height, region } = overlayFrame(src.image, src.region, maxSide);
  return Promise.all(
    outputsToExplain(src.findings).map(async (o) => {
      const channel = src.channelIds.indexOf(o.id);
      const map = selectCamChannel(src.cam, src.camShape.channels, src.camShape.height, src.camShape.width, channel);
      const pixels = renderHeatmapPixels(map, { width, height, region });
      const png = await encodeOverlayPng(pixels);
      return { output: o.id, display: o.display, png, width, height, description: describeHeatmapPixels(pixels).text };
    }),
  );
}
