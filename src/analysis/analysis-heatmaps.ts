import type { OutputHeatmap } from '../explain/output-heatmaps.ts';
import { renderOutputHeatmaps } from '../explain/output-heatmaps.ts';
import type { BccModel } from '../model/session.ts';
import type { ImageAnalysis } from './analyze-images.ts';

/** The overlay PNGs of one analysed image: one per output that matters (the hook, the CLI, the examples). */
export function renderAnalysisHeatmaps(a: ImageAnalysis, model: Pick<BccModel, 'cam' | 'manifest'>): Promise<OutputHeatmap[]> {
  return renderOutputHeatmaps({
    cam: a.cam,
    camShape: model.cam,
    channelIds: model.manifest.outputs.cam.channels,
    image: a.image,
    region: a.region,
    findings: a.findings,
  });
}
