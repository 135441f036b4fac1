import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Project root, so commands work from any working directory. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const DEFAULT_MODEL_MANIFEST = resolve(PROJECT_ROOT, 'models/bcc-mtl-mnv2.json');
export const DEFAULT_RULES = resolve(PROJECT_ROOT, 'models/rules/bcc-criterion.json');

/** The installed model and rules; environment overrides for the hospital ML team's retrained model. */
export function modelPaths(env: NodeJS.ProcessEnv = process.env): { manifest: string; rules: string } {
  return {
    manifest: env['BCC_MODEL_MANIFEST'] ? resolve(env['BCC_MODEL_MANIFEST']) : DEFAULT_MODEL_MANIFEST,
    rules: env['BCC_RULES'] ? resolve(env['BCC_RULES']) : DEFAULT_RULES,
  };
}
