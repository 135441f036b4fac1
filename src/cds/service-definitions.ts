import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../config.ts';

/** Hooks this service answers; a service for any other hook in the file is a startup error. */
export const SUPPORTED_HOOKS = ['order-sign', 'order-select'] as const;
export type SupportedHook = (typeof SUPPORTED_HOOKS)[number];

const serviceSchema = z.object({
  hook: z.enum(SUPPORTED_HOOKS),
  id: z.string().regex(/^[A-Za-z0-9._-]+$/),
  title: z.string().min(1),
  description: z.string().min(1),
  prefetch: z.record(z.string(), z.string()).optional(),
  usageRequirements: z.string().optional(),
});

/** A CDS Hooks 2.0 service definition (https://cds-hooks.hl7.org/2.0/#response). */
export type CdsServiceDefinition = Readonly<z.infer<typeof serviceSchema>>;

export const DEFAULT_SERVICES_FILE = resolve(PROJECT_ROOT, 'cds-hooks/services.json');

export async function loadServiceDefinitions(path = DEFAULT_SERVICES_FILE): Promise<readonly CdsServiceDefinition[]> {
  const json: unknown = JSON.parse(await readFile(path, 'utf8'));
  const parsed = z.object({ services: z.array(serviceSchema).min(1) }).parse(json);
  const ids = parsed.services.map((s) => s.id);
  if (new Set(ids).size !== ids.length) {
    throw new Error(`${path}: service ids must be unique`);
  }
  return parsed.services;
}
