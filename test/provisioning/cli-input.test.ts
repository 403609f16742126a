/**
 * Bad input to the real command lines: one line on stderr, no stack, a non-zero exit status, and the
 * community as it was. `provision` runs against a running hub (real mosquitto, the hub's API, real
 * SQLite, the real face pipeline: test/harness/cli-hub.ts) as root with the passphrase; most cases in
 * this process through the command line's `run` (as bin/provision.js runs it), a handful through the
 * real entry point for the exit status and the split of stdout and stderr. `doorway` runs as a child.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FRANCK_STILLS, GROUP_PHOTOS, testFile } from '../fixtures/photos';
import { run as doorway } from '../../runtime/cli';
import { oneErrorLine, runBin, type BinResult } from '../harness/bins';
import { startCliHub, type CliHub } from '../harness/cli-hub';
import { treeHash } from '../harness/tree';

let hub: CliHub;
let root: string;
let bundle: string;

beforeAll(async () => {
  hub = await startCliHub({ operators: false });
  root = hub.root;
  bundle = join(root, 'bundle');
  const setup = [
    ['terminal', 'add', '--id', 't-1', '--door', 'door-1', '--out', bundle, '--camera', 'rtsp://admin:hunter2@10.0.0.5:554/stream1'],
    ['person', 'add', '--id', 'p-1', '--photo', testFile(FRANCK_STILLS[0]!), '--doors', 'door-1'],
    ['person', 'register', '--id', 'p-pending', '--photo', testFile(FRANCK_STILLS[1]!)],
  ];
  for (const argv of setup) {
    const r = await hub.cli(hub.rootEnv, ...argv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.err}`);
  }
  writeFileSync(join(root, 'not-an-image.jpg'), 'plain text');
  writeFileSync(join(root, 'bad-header.csv'), 'id,photos,doors,shoe size\np-9,x.jpg,door-1,42\n');
  writeFileSync(join(root, 'a-file'), 'x');
  mkdirSync(join(root, 'full'));
  writeFileSync(join(root, 'full', 'x'), 'x');
}, 180_000);

afterAll(async () => {
  await hub.stop();
});

/** [what, exit status, argv, what the line says] */
type Case = [string, number, string[], RegExp];

const init = (...a: string[]): string[] => ['init', '--dir', join(root, 'new-community'), ...a];

const cases = (): Case[] => [
  // the cases
  ['init with a time zone that does not exist', 2, init('--time-zone', 'Mars/Olympus'), /^provision init: community settings is invalid: timeZone: an IANA time zone/],
  ['init with a broker URL that is not mqtts', 2, init('--broker-url', 'http://x'), /^provision init: community settings is invalid: brokerUrl: mqtts:\/\/HOST:PORT$/],
  ['init with a webhook that is not a URL', 2, init('--webhook', 'not-a-url'), /^provision init: community settings is invalid: webhookUrl: an http:\/\/ or https:\/\/ URL$/],
  ['person import of a missing file', 1, ['person', 'import', join(root, 'missing.csv')], /^provision person: ".*missing\.csv" cannot be read \(ENOENT\)$/],
  // more of the same
  ['init with a webhook that is not http', 2, init('--webhook', 'file:///etc/passwd'), /webhookUrl: an http:\/\/ or https:\/\/ URL$/],
  ['init with a broker host that would add a line to openssl config', 2, init('--broker-host', 'DNS:a\nb'), /brokerAltNames\.0: IP:ADDRESS or DNS:NAME$/],
  ['init with a broker URL holding a line break', 2, init('--broker-url', 'mqtts://a\nb:8883'), /brokerUrl: mqtts:\/\/HOST:PORT; /],
  ['init with a name that would add a field to the CA certificate', 2, init('--name', 'x/CN=hub'), /name: a name without "\/", "\\" or control characters$/],
  ['init with a first admin whose id is not an id', 2, init('--admin', 'a b'), /^provision init: init arguments is invalid: admin: 1 to 64 ASCII letters/],
  ['init with an extra argument', 2, [...init(), 'extra'], /^provision init: init arguments is invalid: unexpected "extra": this command takes only options$/],
  ['init with an unknown flag', 2, init('--colour', 'blue'), /^provision init: init arguments is invalid: Unknown option '--colour'/],
  ['an unknown command', 2, ['frobnicate'], /^provision: unknown command frobnicate \(provision help lists the commands\)$/],
  ['an unknown subcommand', 2, ['person', 'frobnicate'], /^provision person: person is invalid: expected register, approve/],
  ['person import of a file with an unknown column', 1, ['person', 'import', join(root, 'bad-header.csv')], /header must name columns .* \(unknown: "shoe size"\)$/],
  ['person import of a folder', 1, ['person', 'import', root], /cannot be read \(EISDIR\)$/],
  ['person add with a missing photo', 1, ['person', 'add', '--id', 'p-2', '--photo', join(root, 'missing.jpg'), '--doors', 'door-1'], /^provision person: photo ".*missing\.jpg" cannot be read \(ENOENT\)$/],
  ['person add with no photo', 1, ['person', 'add', '--id', 'p-2', '--doors', 'door-1'], /give at least one --photo$/],
  ['person add with a file that is not an image', 1, ['person', 'add', '--id', 'p-2', '--photo', join(root, 'not-an-image.jpg'), '--doors', 'door-1'], /not-an-image\.jpg: could not be decoded as an image/],
  ['person add with a group photo', 1, ['person', 'add', '--id', 'p-2', '--photo', testFile(GROUP_PHOTOS.find((g) => g.file === 'sample3.jpg')!), '--doors', 'door-1'], /^provision person: .*sample3\.jpg: 3 faces: one person per photo$/],
  ['person add with no door or building', 1, ['person', 'add', '--id', 'p-2', '--photo', testFile(FRANCK_STILLS[0]!)], /give at least one door or building$/],
  ['person approve with a date that does not exist', 1, ['person', 'approve', 'p-pending', '--doors', 'door-1', '--from', '2026-02-30'], /"2026-02-30" is not a valid date$/],
  ['person approve with a month 13', 1, ['person', 'approve', 'p-pending', '--doors', 'door-1', '--until', '2026-13-01'], /"2026-13-01" is not a valid date$/],
  ['person approve with words for a date', 1, ['person', 'approve', 'p-pending', '--doors', 'door-1', '--from', 'tomorrow'], /--from "tomorrow": a date \(YYYY-MM-DD\) or an ISO datetime with offset$/],
  ['person approve ending before it starts', 1, ['person', 'approve', 'p-pending', '--doors', 'door-1', '--from', '2026-05-01', '--until', '2026-04-01'], /--until is not after --from$/],
  ['person approve with hours past midnight', 1, ['person', 'approve', 'p-pending', '--doors', 'door-1', '--hours', 'mon 25:00-26:00'], /hours "mon 25:00-26:00": /],
  ['person approve with a day that does not exist', 1, ['person', 'approve', 'p-pending', '--doors', 'door-1', '--hours', 'funday 08:00-20:00'], /"funday" is not a day/],
  ['person approve with a door id that is a path', 2, ['person', 'approve', 'p-pending', '--doors', '../../etc'], /door id "\.\.\/\.\.\/etc" is invalid/],
  ['person approve of nobody', 1, ['person', 'approve', 'p-nobody', '--doors', 'door-1'], /no person p-nobody$/],
  ['person approve of an active person', 1, ['person', 'approve', 'p-1', '--doors', 'door-1'], /person p-1 is active, not pending$/],
  ['person approve without an id', 2, ['person', 'approve', '--doors', 'door-1'], /give the person id$/],
  ['person approve with two ids', 2, ['person', 'approve', 'p-pending', 'p-1', '--doors', 'door-1'], /unexpected "p-1"$/],
  ['person approve with an unknown flag', 2, ['person', 'approve', 'p-pending', '--bogus'], /Unknown option '--bogus'/],
  ['person approve with a flag missing its value', 2, ['person', 'approve', 'p-pending', '--doors'], /Option '--doors <value>' argument missing/],
  ['person list with an unknown status', 2, ['person', 'list', '--status', 'asleep'], /status: Invalid option/],
  ['person show of an id that is a path', 2, ['person', 'show', '../..'], /person id "\.\.\/\.\." is invalid/],
  ['person update with a label and nothing to find', 1, ['person', 'update', 'p-nobody', '--label', 'x'], /no person p-nobody$/],
  ['terminal add without --door and --out', 2, ['terminal', 'add', '--id', 't-2'], /--id, --door and --out are required$/],
  ['terminal add with a camera that is not RTSP', 1, ['terminal', 'add', '--id', 't-2', '--door', 'door-2', '--out', join(root, 'b2'), '--camera', 'http://cam'], /camera\.url: /],
  ['terminal add into a file', 1, ['terminal', 'add', '--id', 't-2', '--door', 'door-2', '--out', join(root, 'a-file')], /is not empty or is not a folder$/],
  ['terminal add into a folder that is not empty', 1, ['terminal', 'add', '--id', 't-2', '--door', 'door-2', '--out', join(root, 'full')], /is not empty or is not a folder$/],
  ['terminal add of an id taken but for case', 1, ['terminal', 'add', '--id', 'T-1', '--door', 'door-2', '--out', join(root, 'b3')], /differs from terminal t-1 only by case$/],
  ['terminal wipe without --yes', 2, ['terminal', 'wipe', 't-1'], /add --yes to confirm$/],
  ['terminal wipe of no terminal', 2, ['terminal', 'wipe', 't-9', '--yes'], /no active terminal t-9$/],
  ['terminal wipe with a wait too long', 2, ['terminal', 'wipe', 't-1', '--yes', '--wait', '3600'], /wait: Too big/],
  ['door unlock for no seconds', 2, ['door', 'unlock', 'door-1', '--seconds', 'abc', '--reason', 'test'], /seconds: /],
  ['door unlock of an id with a wildcard', 2, ['door', 'unlock', 'door/#', '--reason', 'test'], /door or terminal id "door\/#" is invalid/],
  ['door unlock without a reason', 2, ['door', 'unlock', 'door-1'], /--reason TEXT is required/],
  ['door unlock of a door nobody has', 1, ['door', 'unlock', 'door-9', '--reason', 'test'], /no active terminal or door door-9$/],
  ['events tail with a negative count', 2, ['events', 'tail', '-n-1'], /n: Too small/],
  ['audit with no rows wanted', 2, ['audit', '-n', '0'], /n: Too small/],
  ['hub with a webhook that is not a URL', 2, ['hub', '--webhook', 'not-a-url'], /webhook: an http:\/\/ or https:\/\/ URL$/],
  ['hub polling too fast', 2, ['hub', '--poll-ms', '5'], /poll-ms: Too small/],
  ['broker config listening on a line break', 2, ['broker', 'config', '--listen', '0.0.0.0\ninclude_dir /etc'], /listen: a host name or an IP address$/],
  ['broker config running as a user with a space', 2, ['broker', 'config', '--user', 'root x'], /user: a user name of this system$/],
  ['alert add with a tag that is not an id', 2, ['alert', 'add', '--tag', 'Missing Person', '--person', 'p-1'], /tag id "Missing Person" is invalid/],
  ['alert add with neither photo nor person', 2, ['alert', 'add', '--tag', 'missing-person'], /give --person ID or at least one --photo$/],
  ['config push to an id that is a path', 2, ['config', 'push', '--terminal', '..'], /door or terminal id "\.\." is invalid/],
  ['fleet with an extra argument', 2, ['fleet', 'status', 'now'], /unexpected "now"/],
  ['a command naming an operator for the audit log', 2, ['person', 'revoke', 'p-1', '--as', 'ops\nroot'], /^provision person: --as is no longer accepted: the hub audits whoever authenticated/],
];

/** Exactly one line, and nothing on stdout. */
function oneLine(r: { out: string; err: string }): string {
  if (r.err.includes('\n') || r.err === '' || r.out !== '') throw new Error(`expected one line on stderr only, got: ${JSON.stringify(r)}`);
  return r.err;
}

describe('provision with bad input', () => {
  it('refuses every case in one line with its exit status, and changes nothing', async () => {
    for (const [what, code, argv, line] of cases()) {
      const before = hub.state();
      const r = await hub.cli(hub.rootEnv, ...argv);
      expect([what, r.code, oneLine(r)]).toEqual([what, code, expect.stringMatching(line)]);
      expect([what, hub.state() === before]).toEqual([what, true]);
    }
  }, 180_000);

  // Through the real entry point: the exit status, one line on stderr, nothing on stdout, no stack.
  it.each([
    ['bad arguments', ['person', 'approve', 'p-pending', '--bogus'], 2, /Unknown option '--bogus'/],
    ['a refusal by the hub', ['person', 'approve', 'p-nobody', '--doors', 'door-1'], 1, /^provision person: no person p-nobody$/],
    ['a bad community setting', ['init', '--dir', '/nonexistent/new', '--time-zone', 'Mars/Olympus'], 2, /timeZone: an IANA time zone/],
  ])('%s through bin/provision.js: one line on stderr, nothing on stdout, its exit status', async (_what, argv, code, line) => {
    const before = hub.state();
    const r = await hub.bin(hub.rootEnv, ...argv);
    expect(r.stdout).toBe('');
    expect(oneErrorLine(r)).toMatch(line);
    expect(r.code).toBe(code);
    expect(hub.state()).toBe(before);
  }, 120_000);

  it('a broken community.json: one line naming the file, no SyntaxError stack, nothing written', async () => {
    const file = join(hub.dir, 'community.json');
    const good = readFileSync(file);
    try {
      writeFileSync(file, '{"v":1,\n  "name": "x",\n');
      const before = treeHash(root);
      for (const args of [['person', 'list'], ['terminal', 'list'], ['fleet', 'status']]) {
        const r = await hub.cli(hub.rootEnv, ...args);
        expect(oneLine(r)).toMatch(/community\.json is not valid JSON at line 3, column 1$/);
        expect(r.code).toBe(1);
      }
      const spawned = await hub.bin(hub.rootEnv, 'person', 'list');
      expect(oneErrorLine(spawned)).toMatch(/community\.json is not valid JSON at line 3, column 1$/);
      writeFileSync(file, '{"v":1, "name": secret-name}');
      const r = await hub.cli(hub.rootEnv, 'person', 'list');
      expect(oneLine(r)).toMatch(/community\.json is not valid JSON$/); // V8's message would quote the text
      expect(r.err).not.toMatch(/secret/);
      writeFileSync(file, JSON.stringify({ ...JSON.parse(good.toString()) as object, timeZone: 'Mars/Olympus' }));
      const tz = await hub.cli(hub.rootEnv, 'person', 'list');
      expect(oneLine(tz)).toMatch(/community\.json is invalid: timeZone: an IANA time zone/);
      expect(treeHash(root)).not.toBe(before); // (the file itself was changed by this test, not by provision)
    } finally {
      writeFileSync(file, good);
    }
  }, 120_000);
});

/** `doorway` in this process (its exported run, as bin/doorway.js runs it), shaped like a spawn's result. */
async function doorwayHere(...argv: string[]): Promise<BinResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await doorway(argv, { out: (l) => out.push(`${l}\n`), err: (l) => err.push(`${l}\n`) });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('doorway run with a bad config file', () => {
  it("the terminal.json written by provision terminal add, broken: one line, no part of the file's text (its camera password)", async () => {
    const file = join(bundle, 'terminal.json');
    const good = readFileSync(file, 'utf8');
    expect(good).toMatch(/hunter2/);
    const broken = [
      good.slice(0, good.indexOf('hunter2') + 20), // cut in the middle of the camera URL
      good.replace('"url": "rtsp', '"url": rtsp'), // the URL without its quotes
      good.replace('"lockType"', '"rtsp://admin:hunter2@x": 1, "lockType"'), // the password as a key
      good.replace('"terminalId": "t-1"', '"terminalId": "rtsp://admin:hunter2@10.0.0.5"'), // where an id belongs
    ];
    try {
      for (const [i, text] of broken.entries()) {
        writeFileSync(file, text);
        const before = hub.state();
        // The first through the real entry point (exit status, stderr only), the others in this process.
        const r = i === 0 ? await runBin('doorway', ['run', '--config', file]) : await doorwayHere('run', '--config', file);
        const line = oneErrorLine(r);
        expect(line).toMatch(/^doorway run: config .*terminal\.json is invalid: /);
        expect(line).not.toMatch(/hunter2|admin|10\.0\.0\.5/);
        expect(r.stdout).toBe('');
        expect(r.code).not.toBe(0);
        expect(hub.state()).toBe(before);
      }
    } finally {
      writeFileSync(file, good);
    }
  }, 120_000);

  it.each([
    ['no --config', ['run'], /--config FILE is required/],
    ['a missing file', ['run', '--config', '/nonexistent/terminal.json'], /cannot be read \(ENOENT\)$/],
    ['an extra argument', ['run', '--config', 'x.json', 'extra'], /run takes no positional arguments/],
  ])('%s: one line and a non-zero exit status', async (_what, args, line) => {
    const r = await doorwayHere(...args);
    expect(oneErrorLine(r)).toMatch(line);
    expect(r.code).not.toBe(0);
  }, 60_000);
});
