/**
 * The rollout state machine (pure): waves advance when the previous one is healthy, halt on failures,
 * an offline terminal catches up, pause/resume/abort.
 */
import { OFFER_RETRY_MS, RolloutError, startRollout, stepRollout, type RolloutEvent, type RolloutPlan, type RolloutState, type RolloutStep } from '../../../provisioning/update/rollout';

const ten = Array.from({ length: 10 }, (_, i) => `t${i + 1}`);
const online = (ids: string[], version = '0.1.0'): Record<string, { online: boolean; version: string | null }> => Object.fromEntries(ids.map((t) => [t, { online: true, version }]));

function offered(s: RolloutStep): string[] {
  return s.actions.map((a) => a.terminal);
}

/** Applies events in order, collecting every offer and log line. */
function run(start: RolloutStep, events: RolloutEvent[]): { state: RolloutState; offers: string[]; log: string[] } {
  let state = start.state;
  const offers = offered(start);
  const log = [...start.log];
  let at = 1;
  for (const e of events) {
    const s = stepRollout(state, e, at++);
    state = s.state;
    offers.push(...offered(s));
    log.push(...s.log);
  }
  return { state, offers, log };
}

const ok = (terminal: string): RolloutEvent => ({ type: 'outcome', terminal, version: '0.2.0', outcome: 'committed', reason: null });

describe('rollout', () => {
  const plan: RolloutPlan = { version: '0.2.0', terminals: ten, canary: ['t1'], waves: [20, 70, 100], maxFailures: 0 };

  it('splits canary and cumulative percentages of the whole fleet into waves, in the given order', () => {
    expect(startRollout(plan, online(ten), 0).state.waves).toEqual([['t1'], ['t2'], ['t3', 't4', 't5', 't6', 't7'], ['t8', 't9', 't10']]);
    // a percentage the canaries already cover adds no wave
    expect(startRollout({ ...plan, waves: [10, 50, 100] }, online(ten), 0).state.waves).toEqual([['t1'], ['t2', 't3', 't4', 't5'], ['t6', 't7', 't8', 't9', 't10']]);
  });

  it('offers the canary first, and each next wave only when the previous one has committed', () => {
    const s0 = startRollout(plan, online(ten), 0);
    expect(offered(s0)).toEqual(['t1']);
    const s1 = stepRollout(s0.state, ok('t1'), 1);
    expect(offered(s1)).toEqual(['t2']);
    const s2 = stepRollout(s1.state, ok('t2'), 2);
    expect(offered(s2)).toEqual(['t3', 't4', 't5', 't6', 't7']);
    // wave 3 is not healthy until all five have answered
    let s = s2.state;
    for (const t of ['t3', 't4', 't5', 't6']) {
      const n = stepRollout(s, ok(t), 3);
      expect(n.actions).toEqual([]);
      s = n.state;
    }
    const last = stepRollout(s, ok('t7'), 4);
    expect(offered(last)).toEqual(['t8', 't9', 't10']);
    const end = run(last, ['t8', 't9', 't10'].map(ok));
    expect(end.state.phase).toBe('done');
  });

  it('halts the wave on a rollback when no failure is allowed, and offers no other terminal', () => {
    const r = run(startRollout(plan, online(ten), 0), [
      ok('t1'),
      ok('t2'),
      { type: 'outcome', terminal: 't4', version: '0.2.0', outcome: 'rolled-back', reason: 'crashed' },
      ok('t3'),
      ok('t5'),
      ok('t6'),
      ok('t7'),
    ]);
    expect(r.state.phase).toBe('halted');
    expect(r.offers).toEqual(['t1', 't2', 't3', 't4', 't5', 't6', 't7']);
    expect(r.state.terminals['t4']).toMatchObject({ status: 'failed', reason: 'crashed' });
    expect(r.state.terminals['t8']).toMatchObject({ status: 'queued' });
    expect(r.log).toContain('halted in wave 3: more failures than allowed; no further terminal is offered 0.2.0');
  });

  it('goes on while failures stay within --max-failures', () => {
    const r = run(startRollout({ ...plan, maxFailures: 1 }, online(ten), 0), [
      ok('t1'),
      ok('t2'),
      { type: 'outcome', terminal: 't4', version: '0.2.0', outcome: 'refused', reason: 'wrong-architecture' },
      ok('t3'),
      ok('t5'),
      ok('t6'),
      ok('t7'),
    ]);
    expect(r.state.phase).toBe('running');
    expect(r.offers.slice(-3)).toEqual(['t8', 't9', 't10']);
  });

  it('lets a terminal that was offline when its wave opened catch up when it comes back, even after later waves', () => {
    const fleet = { ...online(ten), t3: { online: false, version: '0.1.0' } };
    const r = run(startRollout(plan, fleet, 0), [ok('t1'), ok('t2'), ...['t4', 't5', 't6', 't7'].map(ok)]);
    expect(r.state.terminals['t3']).toMatchObject({ status: 'waiting', reason: 'offline' });
    expect(r.offers.slice(-3)).toEqual(['t8', 't9', 't10']); // one committed is enough evidence; t3 does not block
    const back = stepRollout(r.state, { type: 'heartbeat', terminal: 't3', online: true, version: '0.1.0' }, 100);
    expect(offered(back)).toEqual(['t3']);
    const done = run(back, [ok('t3'), ok('t8'), ok('t9'), ok('t10')]);
    expect(done.state.phase).toBe('done');
  });

  it('offers again after a refusal the bundle is not to blame for (door busy), at the next heartbeat', () => {
    const s0 = startRollout({ version: '0.2.0', terminals: ['t1'] }, online(['t1']), 0);
    const busy = stepRollout(s0.state, { type: 'outcome', terminal: 't1', version: '0.2.0', outcome: 'refused', reason: 'door-busy' }, 1);
    expect(busy.state).toMatchObject({ failures: 0, phase: 'running' });
    expect(offered(stepRollout(busy.state, { type: 'heartbeat', terminal: 't1', online: true, version: '0.1.0' }, 2))).toEqual(['t1']);
  });

  it('offers again at a heartbeat once an offer has gone unanswered for OFFER_RETRY_MS, not before, and not while paused', () => {
    const s0 = startRollout({ version: '0.2.0', terminals: ['t1', 't2'] }, online(['t1', 't2']), 0);
    expect(offered(s0)).toEqual(['t1', 't2']);
    const beat = (t: string): RolloutEvent => ({ type: 'heartbeat', terminal: t, online: true, version: '0.1.0' });
    const early = stepRollout(s0.state, beat('t1'), OFFER_RETRY_MS - 1);
    expect(offered(early)).toEqual([]);
    const late = stepRollout(early.state, beat('t1'), OFFER_RETRY_MS);
    expect(offered(late)).toEqual(['t1']);
    expect(late.log).toEqual(['t1: no answer to the offer in 30 min; offered again', 't1: offered 0.2.0']);
    // The clock of the retry starts again at the new offer.
    expect(offered(stepRollout(late.state, beat('t1'), OFFER_RETRY_MS + 1))).toEqual([]);
    const paused = stepRollout(late.state, { type: 'pause' }, OFFER_RETRY_MS + 2);
    expect(offered(stepRollout(paused.state, beat('t2'), 3 * OFFER_RETRY_MS))).toEqual([]);
    expect(stepRollout(late.state, ok('t1'), OFFER_RETRY_MS + 3).state.terminals['t1']?.status).toBe('committed');
  });

  it('counts a terminal already on the version (a heartbeat, or already-installed) as committed', () => {
    const s0 = startRollout({ version: '0.2.0', terminals: ['t1', 't2'] }, { t1: { online: true, version: '0.2.0' }, t2: { online: true, version: '0.1.0' } }, 0);
    expect(offered(s0)).toEqual(['t2']);
    expect(stepRollout(s0.state, { type: 'outcome', terminal: 't2', version: '0.2.0', outcome: 'refused', reason: 'already-installed' }, 1).state.phase).toBe('done');
  });

  it('offers nothing while paused, catches up on resume, and nothing at all after abort', () => {
    const fleet = { ...online(['t1', 't2']), t2: { online: false, version: '0.1.0' } };
    const s0 = startRollout({ version: '0.2.0', terminals: ['t1', 't2'] }, fleet, 0);
    expect(offered(s0)).toEqual(['t1']);
    const paused = run(s0, [{ type: 'pause' }, { type: 'heartbeat', terminal: 't2', online: true, version: '0.1.0' }]);
    expect(paused.offers).toEqual(['t1']);
    const resumed = stepRollout(paused.state, { type: 'resume' }, 10);
    expect(offered(resumed)).toEqual(['t2']);
    const aborted = run(s0, [{ type: 'abort' }, { type: 'heartbeat', terminal: 't2', online: true, version: '0.1.0' }, { type: 'resume' }]);
    expect(aborted.state.phase).toBe('aborted');
    expect(aborted.offers).toEqual(['t1']);
  });

  it('ignores reports about another version or terminal', () => {
    const s0 = startRollout({ version: '0.2.0', terminals: ['t1'] }, online(['t1']), 0);
    const s1 = stepRollout(s0.state, { type: 'outcome', terminal: 't1', version: '0.1.9', outcome: 'rolled-back', reason: 'crashed' }, 1);
    expect(s1.state.failures).toBe(0);
    expect(stepRollout(s1.state, { type: 'outcome', terminal: 'zz', version: '0.2.0', outcome: 'rolled-back', reason: 'crashed' }, 2).state.failures).toBe(0);
  });

  it('logs a terminal committing once when a heartbeat with the new version comes before its report', () => {
    const s0 = startRollout({ version: '0.2.0', terminals: ['t1', 't2'] }, online(['t1', 't2']), 0);
    const r = run(s0, [{ type: 'heartbeat', terminal: 't1', online: true, version: '0.2.0' }, ok('t1')]);
    expect(r.log.filter((l) => l.startsWith('t1:'))).toEqual(['t1: offered 0.2.0', 't1: runs 0.2.0']);
    expect(r.state.terminals['t1']?.status).toBe('committed');
  });

  it('refuses a plan whose waves do not end at 100% or whose canary is not in the fleet', () => {
    expect(() => startRollout({ ...plan, waves: [10, 50] }, {}, 0)).toThrow(RolloutError);
    expect(() => startRollout({ ...plan, canary: ['x'] }, {}, 0)).toThrow(/canary/);
  });
});
