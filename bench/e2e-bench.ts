/**
 * End to end over HTTP: the service in its own process, the EHR's FHIR server in another, a
 * referral with 3 images of 2 MP stored as Binaries on the FHIR server (no prefetch: the service
 * searches for the Media and fetches every image), hooks at concurrency 1, 4 and 16.
 */
import type { ChildServer } from './child-process.ts';
import { cpuMsOf, memoryOf, resetPeakMemory, startChildServer } from './child-process.ts';
import type { SeededReferral } from './fhir-seed.ts';
import { orderSignBody, seedReferral } from './fhir-seed.ts';
import type { LoadResult } from './load.ts';
import { runLoad } from './load.ts';
import { syntheticDermoscopyJpeg } from './synthetic-images.ts';

export const CONCURRENCY_LEVELS = [1, 4, 16] as const;
const IMAGES_PER_REFERRAL = 3;
/** Distinct referrals the hooks rotate through (each with its own images). */
const REFERRALS = 4;
const IMAGE = { width: 1632, height: 1224 };

export interface E2eLevel extends LoadResult {
  /** Peak RSS of the service process during this level (VmHWM reset before it), MB. */
  readonly servicePeakRssMb: number | undefined;
  /** CPU ms per answered hook, service process and FHIR server process. */
  readonly serviceCpuMsPerHook: number | undefined;
  readonly fhirCpuMsPerHook: number | undefined;
}

export interface E2eResult {
  readonly model: string;
  readonly imagesPerHook: number;
  readonly imageBytes: readonly number[];
  readonly startedAt: string;
  /** Service RSS once started and idle, MB. */
  readonly serviceIdleRssMb: number | undefined;
  /** Peak RSS over the whole run (startup included), MB. */
  readonly servicePeakRssMb: number | undefined;
  readonly levels: readonly E2eLevel[];
}

export interface E2eOptions {
  readonly fhir: ChildServer;
  readonly model: { readonly name: string; readonly manifest: string };
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly levels?: readonly number[];
  /** Env for the service process (UV_THREADPOOL_SIZE, BENCH_SERVICE_CONFIG, ...). */
  readonly env?: NodeJS.ProcessEnv;
}

export async function seedBenchReferrals(fhirBaseUrl: string): Promise<{ referrals: SeededReferral[]; imageBytes: number[] }> {
  const referrals: SeededReferral[] = [];
  const imageBytes: number[] = [];
  for (let r = 0; r < REFERRALS; r++) {
    const jpegs = await Promise.all(Array.from({ length: IMAGES_PER_REFERRAL }, (_, k) => syntheticDermoscopyJpeg(IMAGE.width, IMAGE.height, 1000 + r * 10 + k)));
    imageBytes.push(...jpegs.map((j) => j.length));
    referrals.push(await seedReferral(fhirBaseUrl, jpegs));
  }
  return { referrals, imageBytes };
}

export async function benchEndToEnd(opts: E2eOptions, seeded: { referrals: readonly SeededReferral[]; imageBytes: readonly number[] }): Promise<E2eResult> {
  const startedAt = new Date().toISOString();
  const service = await startChildServer('bench/service-process.ts', { BENCH_FHIR_BASE: opts.fhir.baseUrl, BCC_MODEL_MANIFEST: opts.model.manifest, ...opts.env }, process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []);
  try {
    const url = `${service.baseUrl}/cds-services/bcc-triage-order-sign`;
    const idle = await memoryOf(service.pid);
    const levels: E2eLevel[] = [];
    for (const concurrency of opts.levels ?? CONCURRENCY_LEVELS) {
      const reset = await resetPeakMemory(service.pid);
      const cpu0 = [await cpuMsOf(service.pid), await cpuMsOf(opts.fhir.pid)];
      const result = await runLoad({
        url,
        concurrency,
        warmupMs: opts.warmupMs,
        durationMs: opts.durationMs,
        body: (i, hookInstance) => orderSignBody(seeded.referrals[i % seeded.referrals.length]!, opts.fhir.baseUrl, hookInstance),
        isGoodAnswer: (text) => text.includes('"DiagnosticReport"') && !text.includes('could not be analysed'),
      });
      const cpu1 = [await cpuMsOf(service.pid), await cpuMsOf(opts.fhir.pid)];
      const mem = await memoryOf(service.pid);
      // The CPU window covers warm-up and drain too, so divide by every hook answered in it.
      const hooks = result.answeredIncludingWarmup;
      const perHook = (k: number): number | undefined => {
        const a = cpu0[k];
        const b = cpu1[k];
        return a === undefined || b === undefined || hooks === 0 ? undefined : (b - a) / hooks;
      };
      levels.push({ ...result, servicePeakRssMb: reset ? mem?.peakMb : undefined, serviceCpuMsPerHook: perHook(0), fhirCpuMsPerHook: perHook(1) });
    }
    const end = await memoryOf(service.pid);
    return {
      model: opts.model.name,
      imagesPerHook: IMAGES_PER_REFERRAL,
      imageBytes: seeded.imageBytes,
      startedAt,
      serviceIdleRssMb: idle?.rssMb,
      servicePeakRssMb: Math.max(end?.peakMb ?? 0, ...levels.map((l) => l.servicePeakRssMb ?? 0)) || undefined,
      levels,
    };
  } finally {
    await service.stop();
  }
}
