import type { DocumentReference } from 'fhir/r4';
import { operatingPoints } from '../model/calibration.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { manifestDigest } from '../model/manifest.ts';
import { modelTitle } from './build-context.ts';
import { writeSourceFiguresMarkdown } from './model-card-sources.ts';
import type { AllocatedId } from './ids.ts';
import { DECISION_SUPPORT_NOTICE } from './notice.ts';
import type { Terminology } from './terminology.ts';
import { toCoding, toExactCoding } from './terminology.ts';

/**
 * The model card in Markdown, from the manifest alone (so it is the card of exactly that version):
 * intended use, licence, what it assesses and what it does not, operating points, calibration,
 * limits. The full card with figures is docs/model.md and the service's /model-card.
 */
export function writeModelCardMarkdown(manifest: ModelManifest): string {
  const assessed = manifest.patterns.filter((p) => p.trained).map((p) => p.display);
  const notAssessed = manifest.patterns.filter((p) => !p.trained).map((p) => p.display);
  const points = Object.entries(operatingPoints(manifest)).map(([name, p]) => `- ${name}: BCC probability ${p.toFixed(3)}`);
  return [
    `# Model card: ${modelTitle(manifest)}`,
    '',
    `> ${DECISION_SUPPORT_NOTICE}`,
    '',
    '## Intended use',
    '',
    manifest.modelCard.intendedUse,
    '',
    '## Licence',
    '',
    manifest.modelCard.licence,
    '',
    '## Outputs',
    '',
    '- Probability of basal cell carcinoma for one dermoscopic image' + (manifest.calibration ? ` (calibrated, ${manifest.calibration.method})` : ''),
    `- Dermoscopic patterns assessed: ${assessed.join(', ') || 'none'}`,
    `- Not assessed by this model (never reported present or absent): ${notAssessed.join(', ') || 'none'}`,
    '- One heatmap per output that matters: where the model looked',
    '',
    '## Operating points',
    '',
    ...points,
    '',
    ...writeSourceFiguresMarkdown(manifest),
    '## Limits',
    '',
    ...manifest.modelCard.limits.map((l) => `- ${l}`),
    '',
    '## Identity',
    '',
    `- ONNX file sha256: ${manifest.sha256}`,
    `- Manifest sha256 (canonical JSON): ${manifestDigest(manifest)}`,
    '',
  ].join('\n');
}

/**
 * The AI Transparency IG's AI-ModelCard: a DocumentReference holding the model card in Markdown
 * (base64 in the attachment, plain in description as the IG suggests), referenced from the Device
 * (modelCardDescription) and from the Provenance (entity, role derivation). Identified by the
 * manifest digest, like the Device, so a transaction creates it once per model version. No AIAST:
 * people wrote it, the model did not.
 */
const cardTexts = new WeakMap<ModelManifest, { readonly markdown: string; readonly base64: string }>();

/** The card's Markdown and its base64, once per manifest object (hooks would otherwise rewrite it every time). */
function cardText(manifest: ModelManifest): { readonly markdown: string; readonly base64: string } {
  let text = cardTexts.get(manifest);
  if (!text) {
    const markdown = writeModelCardMarkdown(manifest);
    text = { markdown, base64: Buffer.from(markdown, 'utf8').toString('base64') };
    cardTexts.set(manifest, text);
  }
  return text;
}

export function buildModelCardDocument(t: Terminology, manifest: ModelManifest, ids: AllocatedId): DocumentReference {
  const ai = t.aiTransparency;
  const { markdown, base64 } = cardText(manifest);
  return {
    resourceType: 'DocumentReference',
    id: ids.id,
    meta: { profile: [ai.modelCardProfile] },
    identifier: [{ system: t.device.modelManifestSha256IdentifierSystem, value: manifestDigest(manifest) }],
    status: 'current',
    type: { coding: [toExactCoding(ai.modelCardType)] },
    category: [{ coding: [toCoding(ai.modelCardMarkdownCategory)] }],
    description: markdown,
    content: [
      {
        attachment: {
          contentType: ai.modelCardContentType,
          data: base64,
          title: `Model card ${modelTitle(manifest)}`,
        },
      },
    ],
  };
}
