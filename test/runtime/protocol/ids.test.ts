/**
 * The one identifier rule: every id either refused with InvalidIdError, or one plain path component
 * and one MQTT topic level that no file system or broker reads as anything else.
 */
import fc from 'fast-check';
import { posix, win32 } from 'node:path';
import { ID_MAX_LENGTH, IdSchema, InvalidIdError, isId, parseId, printable } from '../../../runtime/protocol/ids';
import { InvalidInputError } from '../../../core/errors';
import { BAD_IDS, GOOD_IDS, nastyId } from '../../fixtures/ids';

/** What "contained" means for an accepted id, checked without trusting the rule's own regex. */
function contained(id: string): void {
  expect(id.length).toBeGreaterThanOrEqual(1);
  expect(id.length).toBeLessThanOrEqual(ID_MAX_LENGTH);
  for (const p of [posix, win32]) {
    const root = p === posix ? '/srv/community/photos' : 'C:\\community\\photos';
    const full = p.resolve(root, id);
    expect(p.dirname(full)).toBe(root); // exactly one component below the folder
    expect(p.basename(full)).toBe(id); // and it is the id itself (no ".", "..", separators, trailing dots)
  }
  expect(`door/${id}/events`.split('/')).toEqual(['door', id, 'events']);
  expect(id).toMatch(/^[\x20-\x7e]+$/); // printable ASCII only
  expect(id).not.toMatch(/[+#%=,\s]/);
  expect(id.startsWith('.') || id.startsWith('-')).toBe(false);
}

test('refuses every well-known bad id and accepts the good ones', () => {
  for (const bad of BAD_IDS) expect(isId(bad)).toBe(false);
  for (const good of GOOD_IDS) {
    expect(isId(good)).toBe(true);
    contained(good);
  }
});

test('any id built of path and topic metacharacters or odd Unicode is refused, or contained', () => {
  fc.assert(
    fc.property(nastyId, (id) => {
      const ok = IdSchema.safeParse(id).success;
      if (ok) contained(id);
      else expect(() => parseId('person', id)).toThrow(InvalidIdError);
    }),
    { numRuns: 1000 },
  );
});

test('a refused id is bad input with a one-line message that shows the id escaped', () => {
  const e = (() => {
    try {
      parseId('door', 'a\n\u202Eb/../..');
    } catch (x) {
      return x as InvalidIdError;
    }
    throw new Error('accepted');
  })();
  expect(e).toBeInstanceOf(InvalidInputError);
  expect(e.kind).toBe('door');
  expect(e.message).toBe('door id "a\\n\\u202eb/../.." is invalid: 1 to 64 ASCII letters, digits, ".", "_" or "-", starting with a letter or digit and not ending with "."');
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => expect(printable(s)).toMatch(/^[\x20-\x7e]*$/)));
  expect(printable('x'.repeat(100))).toBe(`"${'x'.repeat(40)}..." (100 characters)`);
});
