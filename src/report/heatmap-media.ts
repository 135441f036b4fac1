import type { Coding, Media } from 'fhir/r4';
import type { OutputHeatmap } from '../explain/output-heatmaps.ts';
import type { AnalysedImage, BuildContext } from './build-context.ts';
import { aiAssertedMeta, basedOnReferral } from './build-context.ts';
import type { AllocatedId } from './ids.ts';
import { toCoding } from './terminology.ts';

/** `bcc` is the network's BCC channel (manifest outputs.cam.channels[0]); the rest are pattern ids. */
const BCC_OUTPUT = 'bcc';

/** Which of a heatmap Media's notes says the overlay in words (src/explain/heatmap-description.ts). */
export const HEATMAP_DESCRIPTION_NOTE = 1;

export function heatmapTitle(h: Pick<OutputHeatmap, 'output' | 'display'>): string {
  return h.output === BCC_OUTPUT ? 'BCC heatmap' : `${h.display} heatmap`;
}

/** The output a heatmap explains, coded as the Observation that carries that output's value. */
function explainedOutput(ctx: BuildContext, h: OutputHeatmap): Coding {
  const t = ctx.terminology;
  return h.output === BCC_OUTPUT ? toCoding(t.observation.bccProbability) : { system: t.codeSystems.dermoscopicPattern.url, code: h.output, display: h.display };
}

/**
 * One heatmap overlay as a Media. R4 Media has no `derivedFrom` (R5 does), and `partOf` means "a
 * step of a larger event", which a heatmap is not. So the source image travels in our own
 * extension (a Reference, machine-readable), the explained output in a second one (a Coding), and
 * both again in `note` for people. `basedOn` the referral (when it can be named), `device` the model.
 */
export function buildHeatmapMedia(ctx: BuildContext, img: AnalysedImage, h: OutputHeatmap, ids: AllocatedId): Media {
  const t = ctx.terminology;
  const source = img.outcome.source.reference ?? img.outcome.source.display ?? 'the referral image';
  return {
    resourceType: 'Media',
    id: ids.id,
    meta: aiAssertedMeta(ctx, t.profiles.heatmapMedia),
    extension: [
      { url: t.media.sourceImageExtension, valueReference: img.outcome.source },
      { url: t.media.explainedOutputExtension, valueCoding: explainedOutput(ctx, h) },
    ],
    ...basedOnReferral(ctx),
    status: 'completed',
    type: { coding: [toCoding(t.media.type)] },
    subject: ctx.patient,
    createdDateTime: ctx.now,
    issued: ctx.now,
    device: ctx.device,
    ...(img.outcome.bodySite ? { bodySite: img.outcome.bodySite } : {}),
    width: h.width,
    height: h.height,
    content: { contentType: 'image/png', data: h.png.toString('base64'), title: heatmapTitle(h) },
    note: [
      {
        text:
          `Where the model's evidence for ${h.display} lies in image "${img.outcome.label}" (${source}). ` +
          `Transparent overlay for that image scaled to ${h.width}x${h.height}; coarse (about 32 px cells), not a lesion outline.`,
      },
      // The overlay in words (HEATMAP_DESCRIPTION_NOTE): the viewer's text alternative for it.
      ...(h.description ? [{ text: h.description }] : []),
    ],
  };
}
