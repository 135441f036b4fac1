import type { Device, DiagnosticReport, Media, Observation, Resource } from 'fhir/r4';
import type { FhirGateway } from '../fhir/fhir-gateway.ts';
import { OperationOutcomeError, tooCostly } from '../common/outcomes.ts';
import type { SavedReport } from './viewer-model-fhir.ts';

/** A report points at a few Observations and heatmaps per image; far more is not ours. */
const MAX_REFERENCES = 200;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

function isDiagnosticReport(r: Resource): r is DiagnosticReport {
  return r.resourceType === 'DiagnosticReport';
}
function isObservation(r: Resource): r is Observation {
  return r.resourceType === 'Observation';
}
function isMedia(r: Resource): r is Media {
  return r.resourceType === 'Media';
}
function isDevice(r: Resource): r is Device {
  return r.resourceType === 'Device';
}

async function readAll<T extends Resource>(gateway: Pick<FhirGateway, 'read'>, refs: readonly string[], guard: (r: Resource) => r is T): Promise<T[]> {
  const read = await Promise.all(refs.map((ref) => gateway.read(ref)));
  return read.filter(guard);
}

/**
 * `try*`: the saved DiagnosticReport `id` with its Observations (`result`), heatmap Media
 * (`media.link`) and model Device, read from the FHIR server; undefined when there is no such
 * report. Any other failure (server down, a dangling reference) throws.
 */
export async function tryReadSavedReport(gateway: Pick<FhirGateway, 'read' | 'search'>, id: string): Promise<SavedReport | undefined> {
  if (!FHIR_ID.test(id)) {
    return undefined;
  }
  // A search, not a read: the gateway reports a missing resource like any other failed read.
  const found = await gateway.search('DiagnosticReport', { _id: id });
  const report = found.entry?.map((e) => e.resource).find((r): r is DiagnosticReport => r !== undefined && isDiagnosticReport(r) && r.id === id);
  if (!report) {
    return undefined;
  }
  const resultRefs = (report.result ?? []).flatMap((r) => (r.reference ? [r.reference] : []));
  const mediaRefs = (report.media ?? []).flatMap((m) => (m.link.reference ? [m.link.reference] : []));
  if (resultRefs.length + mediaRefs.length > MAX_REFERENCES) {
    throw new OperationOutcomeError(tooCostly(`DiagnosticReport/${id} references ${resultRefs.length + mediaRefs.length} resources; the viewer reads at most ${MAX_REFERENCES}`));
  }
  const [observations, media] = await Promise.all([readAll(gateway, resultRefs, isObservation), readAll(gateway, mediaRefs, isMedia)]);
  const deviceRef = observations.find((o) => o.device?.reference)?.device?.reference;
  // The model's name and version are a nicety: the report still shows without them.
  const device = deviceRef ? await gateway.read(deviceRef).then((d) => (isDevice(d) ? d : undefined), () => undefined) : undefined;
  return { report, observations, media, ...(device ? { device } : {}) };
}
