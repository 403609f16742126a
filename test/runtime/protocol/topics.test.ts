import { parseTopic, terminalSubscriptions, TOPICS, topicsFor } from '../../../runtime/protocol/topics';

test('every topic of a terminal parses back to its kind and terminal id', () => {
  const t = topicsFor('gate-7');
  for (const [kind, topic] of Object.entries(t)) {
    expect(parseTopic(topic)).toEqual({ kind, terminalId: kind === 'rosterAll' ? null : 'gate-7' });
  }
});

test('a terminal subscribes only to its own hub topics and the shared roster topic', () => {
  expect(terminalSubscriptions('gate-7').sort()).toEqual(['hub/gate-7/acks', 'hub/gate-7/certificate', 'hub/gate-7/commands', 'hub/gate-7/roster', 'hub/roster/all']);
});

test('terminal ids that could escape their topic level are refused', () => {
  for (const bad of ['a/b', '+', '#', 'a+', 'a#', '.', '..', '.a', 'a.', '', 'x'.repeat(65), 'a\u0000b']) expect(() => topicsFor(bad)).toThrow();
  expect(parseTopic('door/+/events')).toBeNull();
  expect(parseTopic('door/a/b/events')).toBeNull();
  expect(parseTopic('door/gate-7/other')).toBeNull();
});

test('commands are the only hub topic besides acks that is never retained, and roster and commands are signed', () => {
  expect(TOPICS.commands).toMatchObject({ retained: false, signed: true });
  expect(TOPICS.roster.signed && TOPICS.rosterAll.signed).toBe(true);
  expect(TOPICS.status.retained).toBe(true);
  expect(TOPICS.events).toMatchObject({ signed: false, from: 'terminal' });
});
