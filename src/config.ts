import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Project root, so commands work from any working directory. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const DEFAULT_MODEL_MANIFEST = resolve(PROJECT_ROOT, 'models/bcc-mtl-mnv2.json');
export const DEFAULT_RULES = resolve(PROJECT_ROOT, 'models/rules/bcc-criterion.json');
export const DEFAULT_IMAGE_GATE = resolve(PROJECT_ROOT, 'models/image-gate.json');

/** Environment variable names read outside ServiceConfig (listed with the rest in service-config.ts). */
export const CONFIG_FILE_ENV = 'BCC_CDS_CONFIG';
export const MODEL_MANIFEST_ENV = 'BCC_MODEL_MANIFEST';
export const RULES_ENV = 'BCC_RULES';
export const IMAGE_GATE_ENV = 'BCC_IMAGE_GATE';

/** The installed model and rules; environment overrides for the hospital ML team's retrained model. */
export function modelPaths(env: NodeJS.ProcessEnv = process.env): { manifest: string; rules: string; gate: string } {
  const manifest = env[MODEL_MANIFEST_ENV];
  const rules = env[RULES_ENV];
  const gate = env[IMAGE_GATE_ENV];
  return {
    manifest: manifest ? resolve(manifest) : DEFAULT_MODEL_MANIFEST,
    rules: rules ? resolve(rules) : DEFAULT_RULES,
    gate: gate ? resolve(gate) : DEFAULT_IMAGE_GATE,
  };
}
