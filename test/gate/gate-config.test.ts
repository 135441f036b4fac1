import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/config.ts';
import { fillText, formatNumber, loadGateConfig, parseGateConfig, reasonText } from '../../src/gate/gate-config.ts';
import { GATE_REASONS, QUALITY_REASONS } from '../../src/gate/gate-reasons.ts';
import { OperationOutcomeError } from '../../src/common/outcomes.ts';

const FILE = resolve(PROJECT_ROOT, 'models/image-gate.json');
const shipped = async (): Promise<Record<string, unknown> & { checks: Record<string, unknown>[]; texts: Record<string, unknown> }> => JSON.parse(await readFile(FILE, 'utf8'));

function expressions(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OperationOutcomeError, String(err));
    return err.outcome.issue.flatMap((i) => i.expression ?? []);
  }
  assert.fail('expected an OperationOutcomeError');
}

describe('models/image-gate.json', () => {
  it('the shipped file is valid, has a check per quality reason and a text for every reason', async () => {
    const c = await loadGateConfig(FILE);
    assert.deepEqual(c.checks.map((k) => k.code).sort(), [...QUALITY_REASONS].sort());
    for (const code of GATE_REASONS) {
      assert.notEqual(reasonText(c, code, 1, 2), code, `${code} has no text`);
    }
  });

  it('rejects an unknown reason code, naming the element', async () => {
    const j = await shipped();
    j.checks[0]!.code = 'grainy';
    assert.ok(expressions(() => parseGateConfig(j, 'gate')).includes('gate.checks.0.code'));
  });

  it('rejects a check declared twice', async () => {
    const j = await shipped();
    j.checks.push({ ...j.checks[1]! });
    assert.ok(expressions(() => parseGateConfig(j, 'gate')).includes(`gate.checks.${j.checks.length - 1}.code`));
  });

  it('rejects an action other than reject or warn, and an unknown measure', async () => {
    const j = await shipped();
    j.checks[1]!.action = 'ignore';
    j.checks[2]!.measure = 'prettiness';
    const e = expressions(() => parseGateConfig(j, 'gate'));
    assert.ok(e.includes('gate.checks.1.action'), e.join());
    assert.ok(e.includes('gate.checks.2.measure'), e.join());
  });

  it('rejects a share limit outside 0..1', async () => {
    const j = await shipped();
    const k = j.checks.findIndex((c) => c.measure === 'highlightShare');
    j.checks[k]!.limit = 5;
    assert.ok(expressions(() => parseGateConfig(j, 'gate')).includes(`gate.checks.${k}.limit`));
  });

  it('requires a text for the model-based reasons', async () => {
    const j = await shipped();
    delete j.texts['not-dermoscopic'];
    assert.ok(expressions(() => parseGateConfig(j, 'gate')).includes('gate.texts.not-dermoscopic'));
  });

  it('a missing or non-JSON file is an OperationOutcomeError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gate-'));
    await assert.rejects(loadGateConfig(join(dir, 'none.json')), OperationOutcomeError);
    await writeFile(join(dir, 'bad.json'), '{ nope');
    await assert.rejects(loadGateConfig(join(dir, 'bad.json')), /not JSON/);
  });
});

describe('reason texts', () => {
  it('formats numbers as the check says', () => {
    assert.equal(formatNumber(127.6, 'integer'), '128');
    assert.equal(formatNumber(0.0512, 'percent'), '5.1%');
    assert.equal(formatNumber(0.25, 'percent'), '25%');
    assert.equal(formatNumber(4.6666, 'decimal'), '4.67');
    assert.equal(fillText('x {measured} y {limit} {measured}', 'a', 'b'), 'x a y b a');
  });

  it('fills the measured value and limit into the clinician text', async () => {
    const c = await loadGateConfig(FILE);
    const t = reasonText(c, 'low-resolution', 72, 128);
    assert.match(t, /72 px/);
    assert.match(t, /128 px/);
    assert.doesNotMatch(t, /[{}]/);
  });
});
