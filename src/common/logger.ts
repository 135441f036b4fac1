/** Structured JSON logs. Fields that may carry secrets, image bytes or patient identifiers, and credential-shaped values, are redacted at the source. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const REDACT = /token|authorization|secret|password|data|bytes|jwt|cookie|patient|subject|identifier/i;
/**
 * Values that look like credentials are scrubbed wherever they appear, whatever the field is called
 * (an error message quoting a header, a URL with a token): `Bearer <x>` and compact JWS/JWTs.
 */
const CREDENTIAL = /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}|\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const MAX_DEPTH = 4;

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, REDACT.test(k) ? '[redacted]' : scrub(v, 0)]));
}

function scrub(v: unknown, depth: number): unknown {
  if (typeof v === 'string') {
    return v.replace(CREDENTIAL, '[redacted]');
  }
  if (typeof v !== 'object' || v === null || depth >= MAX_DEPTH) {
    return v;
  }
  if (Array.isArray(v)) {
    return v.map((x: unknown) => scrub(x, depth + 1));
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, REDACT.test(k) ? '[redacted]' : scrub(x, depth + 1)]));
}

export function createLogger(write: (line: string) => void = (l) => process.stdout.write(`${l}\n`), level: 'info' | 'warn' | 'error' | 'silent' = 'info'): Logger {
  const rank = { info: 0, warn: 1, error: 2, silent: 3 } as const;
  const emit = (lvl: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void => {
    if (rank[lvl] >= rank[level]) {
      write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: msg.replace(CREDENTIAL, '[redacted]'), ...(fields ? redact(fields) : {}) }));
    }
  };
  return {
    info: (m, f) => { emit('info', m, f); },
    warn: (m, f) => { emit('warn', m, f); },
    error: (m, f) => { emit('error', m, f); },
  };
}
