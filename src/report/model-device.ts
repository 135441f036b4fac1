import type { Device, Reference } from 'fhir/r4';
import type { ModelManifest } from '../model/manifest.ts';
import { manifestDigest } from '../model/manifest.ts';
import type { AllocatedId } from './ids.ts';
import type { Terminology } from './terminology.ts';
import { toCoding, toExactCoding } from './terminology.ts';

/**
 * The installed model as an AI Transparency IG "AI Device": type Artificial-Intelligence (fixed
 * exactly by the IG: system and code only), the AIKind extension per kind in codes.json, the
 * model card (modelCardDescription -> the AI-ModelCard DocumentReference), name/version, and two
 * identifiers: the ONNX file's sha256 (the exact weights) and the sha256 of the manifest's canonical
 * JSON (the version: learned heads, thresholds and calibration share the network but not this
 * digest). Intended use, licence and limits stay in Device.note too, for readers that do not
 * follow the model card reference.
 * No AIAST label: the Device describes the model, it is not model output.
 */
export function buildModelDevice(t: Terminology, manifest: ModelManifest, ids: AllocatedId, modelCard: Reference): Device {
  const ai = t.aiTransparency;
  return {
    resourceType: 'Device',
    id: ids.id,
    meta: { profile: [t.profiles.aiModelDevice, ai.deviceProfile] },
    extension: [
      ...ai.aiKinds.map((k) => ({ url: ai.aiKindExtension, valueCodeableConcept: { coding: [toCoding(k)] } })),
      { url: ai.modelCardExtension, valueReference: modelCard },
    ],
    identifier: [
      { system: t.device.modelSha256IdentifierSystem, value: manifest.sha256 },
      { system: t.device.modelManifestSha256IdentifierSystem, value: manifestDigest(manifest) },
    ],
    status: 'active',
    deviceName: [{ name: manifest.name, type: 'model-name' }],
    type: { coding: [toExactCoding(ai.deviceType)] },
    version: [{ value: manifest.version }],
    note: [
      { text: `Intended use: ${manifest.modelCard.intendedUse}` },
      { text: `Licence: ${manifest.modelCard.licence}` },
      ...manifest.modelCard.limits.map((l) => ({ text: `Limit: ${l}` })),
    ],
  };
}
