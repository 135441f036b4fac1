/** Structured JSON logs. Field names that may carry secrets or image bytes are redacted at the source. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const REDACT = /token|authorization|secret|password|data|bytes|jwt/i;

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, REDACT.test(k) ? '[redacted]' : v]));
}

export function createLogger(write: (line: string) => void = (l) => process.stdout.write(`${l}\n`), level: 'info' | 'warn' | 'error' | 'silent' = 'info'): Logger {
  const rank = { info: 0, warn: 1, error: 2, silent: 3 } as const;
  const emit = (lvl: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void => {
    if (rank[lvl] >= rank[level]) {
      write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...(fields ? redact(fields) : {}) }));
    }
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
