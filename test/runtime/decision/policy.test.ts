import {
  candidatePersonIds,
  decide,
  localWeekTime,
  type Authorisation,
  type Decision,
  type DecisionInput,
  type FrameMatch,
  type PersonFacts,
} from '../../../runtime/decision/policy';

// Monday 2026-01-05 08:00:00 in Asia/Shanghai (UTC+8, no DST).
const MON_0800_SHANGHAI = Date.UTC(2026, 0, 5, 0, 0, 0);
const HOUR = 3_600_000;

const alice = (over: Partial<PersonFacts> = {}): PersonFacts => ({
  personId: 'alice',
  status: 'active',
  authorisations: [{ doorIds: ['gate-A'], buildingIds: [] }],
  tags: [],
  ...over,
});

function frames(scores: Record<string, number>, count = 3, quality = 0.75): FrameMatch[] {
  return Array.from({ length: count }, () => ({ quality, matches: Object.entries(scores).map(([personId, score]) => ({ personId, score })) }));
}

function input(over: Partial<DecisionInput> = {}, persons: PersonFacts[] = [alice()]): DecisionInput {
  return {
    now: MON_0800_SHANGHAI,
    door: { doorId: 'gate-A', buildingId: 'b-12', timeZone: 'Asia/Shanghai' },
    frames: frames({ alice: 0.75, bob: 0.5 }),
    liveness: { score: 0.75 },
    persons: new Map(persons.map((p) => [p.personId, p])),
    thresholds: { match: 0.5, margin: 0.125, minFrames: 3, minQuality: 0.5, liveness: 0.5 },
    ...over,
  };
}

const outcome = (d: Decision): string => (d.kind === 'grant' ? `grant:${d.personId}` : `deny:${d.reason}`);
const auth = (a: Partial<Authorisation>): PersonFacts[] => [alice({ authorisations: [{ doorIds: ['gate-A'], buildingIds: [], ...a }] })];
const weekdays = [1, 2, 3, 4, 5, 6, 7];

describe('decide', () => {
  const cases: [string, DecisionInput, string][] = [
    ['grants an authorised, live, clearly identified resident', input(), 'grant:alice'],
    // Identification thresholds
    ['grants at exactly the match threshold', input({ frames: frames({ alice: 0.5, bob: 0.25 }) }), 'grant:alice'],
    ['says unknown just below the match threshold', input({ frames: frames({ alice: 0.4999999, bob: 0.25 }) }), 'deny:unknown'],
    ['says unknown when nobody matched', input({ frames: frames({}) }), 'deny:unknown'],
    ['says unknown when the matched person is not in the roster facts', input({}, []), 'deny:unknown'],
    ['grants at exactly the margin over the runner-up', input({ frames: frames({ alice: 0.75, bob: 0.625 }) }), 'grant:alice'],
    ['says ambiguous just inside the margin', input({ frames: frames({ alice: 0.75, bob: 0.6250001 }) }), 'deny:ambiguous'],
    ['says ambiguous for look-alikes both scoring above 0.9', input({ frames: frames({ alice: 0.93, twin: 0.91 }) }), 'deny:ambiguous'],
    ['takes the median over frames: present in two of three frames is enough', input({ frames: [...frames({ alice: 0.7 }, 2), ...frames({ bob: 0.3 }, 1)] }), 'grant:alice'],
    ['takes the median over frames: present in one of three frames is unknown', input({ frames: [...frames({ alice: 0.9 }, 1), ...frames({ bob: 0.3 }, 2)] }), 'deny:unknown'],
    ['is exact at the threshold with any score value (no averaging error)', input({ thresholds: { match: 0.45, margin: 0.1, minFrames: 3, minQuality: 0.5, liveness: 0.5 }, frames: frames({ alice: 0.45, bob: 0.25 }) }), 'grant:alice'],
    ['is unknown one step below a threshold of 0.45', input({ thresholds: { match: 0.45, margin: 0.1, minFrames: 3, minQuality: 0.5, liveness: 0.5 }, frames: frames({ alice: 0.44999999999999996, bob: 0.25 }) }), 'deny:unknown'],
    // Quality and liveness
    ['says poor-quality with too few usable frames', input({ frames: [...frames({ alice: 0.75 }, 2), ...frames({ alice: 0.75 }, 1, 0.49)] }), 'deny:poor-quality'],
    ['counts a frame at exactly the quality threshold as usable', input({ frames: frames({ alice: 0.75 }, 3, 0.5) }), 'grant:alice'],
    ['says poor-quality with no frames at all', input({ frames: [], thresholds: { match: 0.5, margin: 0.125, minFrames: 0, minQuality: 0.5, liveness: 0.5 } }), 'deny:poor-quality'],
    ['says not-live just below the liveness threshold', input({ liveness: { score: 0.4999 } }), 'deny:not-live'],
    ['grants at exactly the liveness threshold', input({ liveness: { score: 0.5 } }), 'grant:alice'],
    ['says not-live for a NaN liveness score', input({ liveness: { score: Number.NaN } }), 'deny:not-live'],
    ['checks liveness before identity: a spoof of a stranger is not-live', input({ liveness: { score: 0 }, frames: frames({}) }), 'deny:not-live'],
    // Status and place
    ['says revoked for a revoked person', input({}, [alice({ status: 'revoked', authorisations: [] })]), 'deny:revoked'],
    ['says not-authorised-here for another door', input({}, [alice({ authorisations: [{ doorIds: ['gate-B'], buildingIds: [] }] })]), 'deny:not-authorised-here'],
    ['grants through the door\'s building', input({}, [alice({ authorisations: [{ doorIds: [], buildingIds: ['b-12'] }] })]), 'grant:alice'],
    ['says not-authorised-here with no authorisation at all', input({}, [alice({ authorisations: [] })]), 'deny:not-authorised-here'],
    // Validity
    ['grants from exactly validFrom', input({}, auth({ validFrom: MON_0800_SHANGHAI })), 'grant:alice'],
    ['says not-authorised-here before validFrom', input({}, auth({ validFrom: MON_0800_SHANGHAI + 1 })), 'deny:not-authorised-here'],
    ['grants just before validUntil', input({}, auth({ validUntil: MON_0800_SHANGHAI + 1 })), 'grant:alice'],
    ['says expired at exactly validUntil', input({}, auth({ validUntil: MON_0800_SHANGHAI })), 'deny:expired'],
    // Weekly windows in the door's time zone (Shanghai: Monday 08:00 local)
    ['grants at exactly the start of a window', input({}, auth({ windows: [{ days: [1], start: '08:00', end: '18:00' }] })), 'grant:alice'],
    ['says outside-hours one second before the window', input({ now: MON_0800_SHANGHAI - 1000 }, auth({ windows: [{ days: [1], start: '08:00', end: '18:00' }] })), 'deny:outside-hours'],
    ['grants one second before the window ends', input({ now: MON_0800_SHANGHAI + 10 * HOUR - 1000 }, auth({ windows: [{ days: [1], start: '08:00', end: '18:00' }] })), 'grant:alice'],
    ['says outside-hours at exactly the end of the window', input({ now: MON_0800_SHANGHAI + 10 * HOUR }, auth({ windows: [{ days: [1], start: '08:00', end: '18:00' }] })), 'deny:outside-hours'],
    ['says outside-hours on a day the window does not list', input({}, auth({ windows: [{ days: [2, 3], start: '00:00', end: '24:00' }] })), 'deny:outside-hours'],
    ['says outside-hours with an empty window list', input({}, auth({ windows: [] })), 'deny:outside-hours'],
    ['grants in an overnight window begun the day before', input({ now: MON_0800_SHANGHAI - 2 * HOUR - 60_000 }, auth({ windows: [{ days: [7], start: '22:00', end: '06:00' }] })), 'grant:alice'],
    ['says outside-hours when the overnight window has ended', input({ now: MON_0800_SHANGHAI - 2 * HOUR }, auth({ windows: [{ days: [7], start: '22:00', end: '06:00' }] })), 'deny:outside-hours'],
    ['reads windows in the door\'s time zone, not UTC or the terminal\'s', input({ door: { doorId: 'gate-A', buildingId: 'b-12', timeZone: 'Europe/Berlin' } }, auth({ windows: [{ days: [1], start: '08:00', end: '18:00' }] })), 'deny:outside-hours'],
    ['grants when any one of several authorisations passes', input({}, [alice({ authorisations: [{ doorIds: ['gate-A'], buildingIds: [], validUntil: 0 }, { doorIds: [], buildingIds: ['b-12'] }] })]), 'grant:alice'],
    ['prefers expired over outside-hours when no authorisation is current', input({}, [alice({ authorisations: [{ doorIds: ['gate-A'], buildingIds: [], validUntil: 0, windows: [] }] })]), 'deny:expired'],
  ];

  it.each(cases)('%s', (_name, inp, want) => {
    expect(outcome(decide(inp))).toBe(want);
  });

  // Europe/Berlin switches to summer time on 2026-03-29 (02:00 -> 03:00) and back on 2026-10-25.
  const berlin = (now: number, windows: Authorisation['windows']) =>
    decide(input({ now, door: { doorId: 'gate-A', buildingId: 'b-12', timeZone: 'Europe/Berlin' } }, auth({ windows })));
  const morning = [{ days: weekdays, start: '07:00', end: '08:00' }];

  it.each([
    ['06:30Z on the Saturday before the switch is 07:30 CET, inside', Date.UTC(2026, 2, 28, 6, 30), 'grant:alice'],
    ['06:30Z on the Monday after the switch is 08:30 CEST, outside', Date.UTC(2026, 2, 30, 6, 30), 'deny:outside-hours'],
    ['05:30Z on the Monday after the switch is 07:30 CEST, inside', Date.UTC(2026, 2, 30, 5, 30), 'grant:alice'],
    ['05:30Z on the Saturday before the switch is 06:30 CET, outside', Date.UTC(2026, 2, 28, 5, 30), 'deny:outside-hours'],
  ])('follows daylight saving in the door zone: %s', (_n, now, want) => {
    expect(outcome(berlin(now, morning))).toBe(want);
  });

  it('treats both passes of the repeated autumn hour as inside a 02:00-03:00 window', () => {
    const w = [{ days: [7], start: '02:00', end: '03:00' }];
    expect(outcome(berlin(Date.UTC(2026, 9, 25, 0, 30), w))).toBe('grant:alice'); // 02:30 CEST
    expect(outcome(berlin(Date.UTC(2026, 9, 25, 1, 30), w))).toBe('grant:alice'); // 02:30 CET
    expect(outcome(berlin(Date.UTC(2026, 9, 25, 2, 0), w))).toBe('deny:outside-hours'); // 03:00 CET
  });

  it('reads local weekday and time with Intl', () => {
    expect(localWeekTime(MON_0800_SHANGHAI, 'Asia/Shanghai')).toEqual({ weekday: 1, second: 8 * 3600 });
    expect(localWeekTime(MON_0800_SHANGHAI, 'Europe/Berlin')).toEqual({ weekday: 1, second: 3600 });
    expect(localWeekTime(Date.UTC(2026, 0, 4, 23, 59, 59), 'UTC')).toEqual({ weekday: 7, second: 86399 });
  });

  describe('alerts', () => {
    const tagged = alice({ tags: ['missing-person', 'missing-person'] });
    it('raises one alert per tag when a tagged person is granted', () => {
      const d = decide(input({}, [tagged]));
      expect(d.kind).toBe('grant');
      expect(d.alerts).toEqual([{ tag: 'missing-person', personId: 'alice' }]);
    });
    it('raises the alert when the tagged person is denied for hours or liveness too', () => {
      const denied = decide(input({}, [{ ...tagged, authorisations: [{ doorIds: ['gate-A'], buildingIds: [], windows: [] }] }]));
      expect([outcome(denied), denied.alerts.length]).toEqual(['deny:outside-hours', 1]);
      const spoof = decide(input({ liveness: { score: 0 } }, [tagged]));
      expect([outcome(spoof), spoof.alerts.length]).toEqual(['deny:not-live', 1]);
    });
    it('raises no alert when the tagged person is not confidently identified', () => {
      expect(decide(input({ frames: frames({ alice: 0.45 }) }, [tagged])).alerts).toEqual([]);
      expect(decide(input({ frames: frames({ alice: 0.8, bob: 0.75 }) }, [tagged])).alerts).toEqual([]);
      expect(decide(input({ frames: frames({ alice: 0.8 }, 2) }, [tagged])).alerts).toEqual([]);
    });
  });

  it('reports the identification with scores on grants and denials', () => {
    const d = decide(input());
    expect(d).toEqual({ kind: 'grant', personId: 'alice', reason: 'authorised', match: { personId: 'alice', score: 0.75, margin: 0.25 }, alerts: [] });
    expect(decide(input({ frames: frames({ alice: 0.2 }) }))).toMatchObject({ kind: 'deny', reason: 'unknown', match: { personId: 'alice', score: 0.2, margin: 0.2 } });
  });

  it('lists the candidate persons the caller must look up', () => {
    expect(candidatePersonIds([...frames({ b: 0.5, a: 0.4 }, 1), ...frames({ c: 0.1, a: 0.2 }, 1)])).toEqual(['a', 'b', 'c']);
  });

  it('throws on a non-finite match score, so the caller fails closed', () => {
    expect(() => decide(input({ frames: frames({ alice: Number.NaN }) }))).toThrow(RangeError);
  });
});
