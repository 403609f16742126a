/**
 * The hub's web console in a real browser (Debian's chromium driven by playwright-core) against a real
 * community: real mosquitto (mutual TLS, ACL), the real hub, its HTTPS API with the console, and a
 * real terminal started from its bundle (real models, ffmpeg reading the franck video, fake GPIO).
 * Tenants register with real photos of a face through the API as the tenant app does.
 *
 * Each run saves a screenshot of every page (1280x800; Simplified Chinese, and login and queue in
 * English too) under .cache/screenshots/console; `npm run show:console` writes them to docs/console/,
 * the committed ones a reviewer looks at, so a test run leaves the tree as it was.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { FacePipeline } from '../../../models/pipeline';
import { addAlert, addPerson, addTerminal, BrokerProcess, initCommunity, pipelineEnroller, startCommunityHub, type Community, type CommunityHub, type TerminalBundle } from '../../../provisioning';
import { HubClient } from '../../../provisioning/api/client';
import { FakeRealNameCheck } from '../../../provisioning/api/realname';
import { HubApi } from '../../../provisioning/api/server';
import { httpTls } from '../../../provisioning/api/tls';
import { ROOT_OPERATOR } from '../../../provisioning/operators/roles';
import { freeLoopbackPort } from '../../../provisioning/ports';
import { FRANCK_STILLS, testFile } from '../../fixtures/photos';
import { admin } from '../../harness/admin';
import { launchBrowser } from '../../harness/browser';
import { startBundleTerminal, type BundleTerminal } from '../../harness/bundle-terminal';
import { IDENTITIES, NEW_PASSWORD } from '../../harness/hub-api';
import { waitFor } from '../../harness/wait';

const PASS = 'console-test-passphrase';
/** Where the screenshots go: `.cache/screenshots/console` (not tracked), or docs/console with `npm run show:console`. */
const SHOTS = resolve(process.env['DOORWAY_SCREENSHOTS'] ?? join(__dirname, '../../../.cache/screenshots/console'));
/** The alerts board's promise: a sighting is on screen within this long of the hub receiving it. */
const SIGHTING_TO_SCREEN_MS = 2000;

let root: string;
let community: Community;
let broker: BrokerProcess;
let hub: CommunityHub;
let api: HubApi;
let baseUrl: string;
let ca: Buffer;
let pipeline: FacePipeline;
let t1: TerminalBundle;
let door: BundleTerminal;
let browser: Browser;
const oneTime = new Map<string, string>();
/** The registration of 王小明 that b-1's manager approves (test a), tagged missing in test c. */
let approvedId = '';

const jpeg = (f: string): { contentType: 'image/jpeg'; data: string } => ({ contentType: 'image/jpeg', data: readFileSync(f).toString('base64') });
const franck = (...i: number[]): Array<{ contentType: 'image/jpeg'; data: string }> => i.map((n) => jpeg(testFile(FRANCK_STILLS[n]!)));

/**
 * Saves the page as docs/console/NAME.png with every photo covered: the face photos
 * come from the npm registry for tests and must not be committed (DESIGN.md), a screenshot included.
 */
async function shot(page: Page, name: string): Promise<void> {
  // `mask` paints over the photos from outside the page (a `style` would be refused by the console's CSP).
  await page.screenshot({ path: join(SHOTS, `${name}.png`), mask: [page.locator('img')], maskColor: '#9aa5b1' });
}

/** A new browser context (its own cookies and storage) on the console's front page. */
async function open(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  return { context, page };
}

async function login(page: Page, id: string, password: string): Promise<void> {
  await page.getByLabel('账号').fill(id);
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '登录' }).click();
}

/** An operator whose one-time password is already replaced by NEW_PASSWORD (through the API). */
async function ready(id: string): Promise<void> {
  const c = new HubClient({ baseUrl, ca });
  await c.login(id, oneTime.get(id) ?? '');
  await c.changePassword(oneTime.get(id) ?? '', NEW_PASSWORD);
}

/** Whether every image given is loaded (runs in the page; the test's tsconfig has no DOM types). */
const loaded = (imgs: unknown[]): boolean => imgs.every((i) => (i as { complete: boolean }).complete && (i as { naturalWidth: number }).naturalWidth > 0);

async function navLinks(page: Page): Promise<string[]> {
  return page.getByRole('navigation').getByRole('link').allInnerTexts();
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  root = mkdtempSync(join(tmpdir(), 'console-browser-'));
  const mqttPort = await freeLoopbackPort();
  community = initCommunity({ dir: join(root, 'community'), passphrase: PASS, brokerUrl: `mqtts://127.0.0.1:${mqttPort}`, timeZone: 'Asia/Shanghai', heartbeatMs: 2000, actor: 'it-staff', now: Date.now() });
  t1 = addTerminal(admin(community, { passphrase: PASS, actor: 'installer' }), { id: 't1', doorId: 'door-1', buildingId: 'b-1', out: join(root, 'bundle-t1') });
  addTerminal(admin(community, { passphrase: PASS, actor: 'installer' }), { id: 't2', doorId: 'door-2', buildingId: 'b-2', out: join(root, 'bundle-t2') });
  broker = new BrokerProcess(community, { listenHost: '127.0.0.1', clock: new SystemClock() });
  await broker.start();
  const clock = new SystemClock();
  hub = await startCommunityHub({ clock, community, passphrase: PASS, pollMs: 100, log: silentLogger() });
  pipeline = await FacePipeline.load();
  const tls = httpTls(community, PASS, clock.now());
  api = await HubApi.create({ community, clock, log: silentLogger(), tls, realName: new FakeRealNameCheck([{ ...IDENTITIES[0]!, photo: { contentType: 'image/jpeg', data: readFileSync(testFile(FRANCK_STILLS[5]!)) } }, IDENTITIES[1]!]), enroller: pipelineEnroller(pipeline) });
  const { port } = await api.listen('127.0.0.1', 0);
  baseUrl = `https://127.0.0.1:${port}`;
  ca = readFileSync(community.paths.ca.cert);
  for (const [id, role, buildings] of [['admin-zhao', 'admin', []], ['sec-wang', 'security', []], ['mgr-1', 'manager', ['b-1']], ['mgr-2', 'manager', ['b-2']]] as const) {
    oneTime.set(id, (await api.ctx.auth.accounts.add({ id, role, buildings: [...buildings] }, { id: ROOT_OPERATOR })).password);
  }
  await Promise.all(['admin-zhao', 'sec-wang', 'mgr-2'].map(ready));
  door = await startBundleTerminal(t1);
  await waitFor(() => door.notices.includes('hub connected'), 15_000, 'the terminal to connect');
  browser = await launchBrowser(tls.cert);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await door?.stop();
  await api?.close();
  await hub?.stop();
  await broker?.stop();
  await pipeline?.close();
  community?.close();
});

describe('the web console in a real browser', () => {
  it('shows the login in Simplified Chinese by default, in English on request, remembered across a reload, with labelled controls and a visible focus', async () => {
    const { context, page } = await open();
    try {
      await page.getByRole('heading', { name: '登录' }).waitFor();
      expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
      // By keyboard: Tab reaches the account field, and the focus is drawn.
      const focused = (): Promise<unknown> => page.evaluate("document.activeElement && document.activeElement.getAttribute('name')");
      for (let i = 0; i < 6 && (await focused()) !== 'id'; i++) await page.keyboard.press('Tab');
      expect(await focused()).toBe('id');
      expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
      await shot(page, 'login.zh-CN');

      await page.getByLabel('语言').selectOption('en');
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await shot(page, 'login.en');
      await page.reload();
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      expect(await page.getAttribute('html', 'lang')).toBe('en');
      await page.getByLabel('Account').waitFor({ timeout: 10_000 });
      await page.getByLabel('Language').selectOption('zh-CN');
      await page.getByRole('heading', { name: '登录' }).waitFor();
    } finally {
      await context.close();
    }
  }, 60_000);

  it("lets b-1's manager log in with his one-time password, set his own, and approve a tenant whom the terminal then recognises at his building's door", async () => {
    const reg = await new HubClient({ baseUrl, ca }).registrations.submit({ name: IDENTITIES[0]!.name, idNumber: IDENTITIES[0]!.idNumber, buildingId: 'b-1', room: '3-101', photos: franck(0, 1, 10) });
    approvedId = reg.id;
    const { context, page } = await open();
    try {
      await login(page, 'mgr-1', oneTime.get('mgr-1') ?? '');
      await page.getByRole('heading', { name: '设置新密码' }).waitFor();
      await shot(page, 'password.zh-CN');
      await page.getByLabel('当前密码').fill(oneTime.get('mgr-1') ?? '');
      await page.getByLabel('新密码（至少 12 个字符）').fill(NEW_PASSWORD);
      await page.getByLabel('再次输入新密码').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: '保存新密码' }).click();
      await page.getByRole('heading', { name: '注册审核队列' }).waitFor();
      // A manager sees what a manager may use, nothing else.
      expect(await navLinks(page)).toEqual(['审核队列', '住户', '长期未使用', '门']);

      await page.getByRole('button', { name: `审核 ${IDENTITIES[0]!.name} 的注册` }).click();
      const review = page.getByRole('region', { name: `审核 ${IDENTITIES[0]!.name} 的注册` });
      await review.getByText('1101**********4512').waitFor({ timeout: 10_000 });
      await review.getByText('已核验').waitFor({ timeout: 10_000 });
      // The identity's portrait beside each registration photo (loaded from the hub), with its quality verdict.
      const photos = review.getByRole('img');
      await waitFor(async () => (await photos.count()) === 4 && (await photos.evaluateAll(loaded)), 10_000, 'the identity photo and the three registration photos');
      expect(await review.getByRole('img', { name: `${IDENTITIES[0]!.name} 的证件照` }).count()).toBe(1);
      expect(await review.getByText('质量合格').count()).toBe(3);
      await shot(page, 'queue.zh-CN');
      await page.getByLabel('语言').selectOption('en');
      await page.getByRole('button', { name: `Review ${IDENTITIES[0]!.name}'s registration` }).click();
      await page.getByRole('img', { name: `Registration photo 3 of ${IDENTITIES[0]!.name}` }).waitFor();
      await waitFor(() => page.getByRole('img').evaluateAll(loaded), 10_000, 'the photos in English');
      await shot(page, 'queue.en');
      await page.getByLabel('Language').selectOption('zh-CN');

      const noticesBefore = door.notices.length;
      await page.getByRole('button', { name: `审核 ${IDENTITIES[0]!.name} 的注册` }).click();
      await page.getByRole('button', { name: '批准' }).click();
      await page.getByText(`已批准 ${IDENTITIES[0]!.name} 的注册。`).waitFor();
      expect(community.db.person(reg.id)).toMatchObject({ status: 'active', authorisations: [expect.objectContaining({ buildingIds: ['b-1'] })] });
      expect(community.db.auditLog(50).some((a) => a.actor === 'mgr-1' && a.action === 'registration.approve' && a.subject === reg.id)).toBe(true);

      // The hub publishes him; the door at his building recognises him and unlocks.
      await waitFor(() => door.notices.slice(noticesBefore).find((m) => /applied: version \d+$/.test(m)), 15_000, 'the roster with him at the door');
      const writesBefore = door.gpio.out('lock').writes.length;
      const d = await door.passage('a decision on the approved tenant');
      expect(d.decision).toEqual(expect.objectContaining({ kind: 'grant', personId: reg.id })); // a failure prints the whole decision (its reason)
      expect(door.gpio.out('lock').writes.slice(writesBefore).some((w) => w.active)).toBe(true);

      // He is a resident now: found by name on the residents page.
      await page.getByRole('link', { name: '住户' }).click();
      await page.getByLabel('搜索（编号、姓名或房间）').fill(IDENTITIES[0]!.name);
      await page.getByRole('button', { name: '搜索' }).click();
      await page.getByRole('cell', { name: reg.id }).waitFor();
      await page.getByRole('button', { name: `注销 ${IDENTITIES[0]!.name}` }).waitFor({ timeout: 10_000 });
      // His access: another building's door is refused (the API's 403, said on the page), a date in his own is kept.
      await page.getByRole('button', { name: `修改 ${IDENTITIES[0]!.name} 的通行权限` }).click();
      await page.getByLabel('可进入的门（逗号分隔）').fill('door-2');
      await page.getByRole('button', { name: `保存 ${IDENTITIES[0]!.name} 的通行权限` }).click();
      await page.getByRole('alert').filter({ hasText: '您没有权限执行此操作。' }).waitFor();
      await page.getByLabel('可进入的门（逗号分隔）').fill('');
      await page.getByLabel('有效期至').fill('2030-06-30');
      await page.getByRole('button', { name: `保存 ${IDENTITIES[0]!.name} 的通行权限` }).click();
      await page.getByText(`已更新 ${IDENTITIES[0]!.name} 的通行权限。`).waitFor();
      await page.getByRole('cell', { name: 'b-1 (有效期至 2030-06-30)' }).waitFor(); // the day typed, not the API's midnight after it
      expect(community.db.person(reg.id)?.authorisations).toEqual([expect.objectContaining({ buildingIds: ['b-1'], doorIds: [], validUntil: expect.stringMatching(/^2030-0(6-30|7-01)/) as unknown })]);
      await shot(page, 'residents.zh-CN');
    } finally {
      await context.close();
    }
  }, 120_000);

  it("keeps b-1's tenants out of the queue of b-2's manager and answers his approval with 403, and an anonymous call with 401", async () => {
    const reg = await new HubClient({ baseUrl, ca }).registrations.submit({ name: IDENTITIES[1]!.name, idNumber: IDENTITIES[1]!.idNumber, buildingId: 'b-1', room: '5-202', photos: franck(2, 3) });
    const { context, page } = await open();
    try {
      await login(page, 'mgr-2', NEW_PASSWORD);
      await page.getByRole('heading', { name: '注册审核队列' }).waitFor();
      await page.getByText('没有待审核的注册。').waitFor();
      expect(await page.getByText(IDENTITIES[1]!.name).count()).toBe(0);
      expect(await navLinks(page)).toEqual(['审核队列', '住户', '长期未使用', '门']);
      // Straight to the API with his own session and CSRF token: refused.
      const answers = await page.evaluate(async (id) => {
        const me = (await (await fetch('/api/me')).json()) as { csrfToken: string };
        const approve = await fetch(`/api/registrations/${id}/approve`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken }, body: '{}' });
        const show = await fetch(`/api/registrations/${id}`);
        return { approve: approve.status, show: show.status };
      }, reg.id);
      expect(answers).toEqual({ approve: 403, show: 403 });
      expect(community.db.person(reg.id)?.status).toBe('pending');
    } finally {
      await context.close();
    }
    const anonymous = await open();
    try {
      const statuses = await anonymous.page.evaluate(async () => Promise.all(['/api/registrations', '/api/residents', '/api/alerts'].map(async (u) => (await fetch(u)).status)));
      expect(statuses).toEqual([401, 401, 401]);
    } finally {
      await anonymous.context.close();
    }
  }, 60_000);

  it("lists b-2's residents not seen at any door for 90 days to b-2's manager, who confirms one still lives there and ends another's access", async () => {
    // Added 100 days ago and never let in at a door since; b-1's is not his to see.
    const longAgo = admin(community, { actor: 'it-staff', now: Date.now() - 100 * 86_400_000 });
    for (const [id, building] of [['p-b2-stays', 'b-2'], ['p-b2-left', 'b-2'], ['p-b1-quiet', 'b-1']] as const) await addPerson(longAgo, { id, photos: [], noFace: true, buildings: [building] });
    const { context, page } = await open();
    try {
      await login(page, 'mgr-2', NEW_PASSWORD);
      await page.getByRole('link', { name: '长期未使用' }).click();
      await page.getByRole('heading', { name: '长期未使用的住户' }).waitFor();
      await page.getByRole('cell', { name: 'p-b2-stays', exact: true }).waitFor();
      await page.getByText('共 2 人 90 天内未通行').waitFor();
      expect(await page.getByRole('cell', { name: 'p-b1-quiet', exact: true }).count()).toBe(0);
      expect(await page.getByRole('cell', { name: '保留期内无通行记录' }).count()).toBe(2);
      await shot(page, 'unused.zh-CN');
      await page.getByRole('button', { name: '确认 p-b2-stays 仍在居住' }).click();
      await page.getByText('已确认 p-b2-stays 仍在居住，在此期间内不再列出。').waitFor();
      await page.getByRole('button', { name: '注销 p-b2-left' }).click();
      await page.getByLabel('原因').fill('已搬离');
      await page.getByRole('button', { name: '注销 p-b2-left' }).click();
      await page.getByText('已注销 p-b2-left。').waitFor();
      await page.getByText('共 0 人 90 天内未通行').waitFor();
      expect(community.db.person('p-b2-left')?.status).toBe('revoked');
      expect(community.db.person('p-b2-stays')?.status).toBe('active');
      expect(community.db.auditLog(50).filter((a) => a.action === 'person.confirm-resident').map((a) => `${a.actor} ${a.subject}`)).toEqual(['mgr-2 p-b2-stays']);
    } finally {
      await context.close();
    }
  }, 60_000);

  it("shows a missing person's sighting on the alerts board within 2 s of the hub receiving it, with the door and the time", async () => {
    expect(approvedId).not.toBe('');
    const noticesBefore = door.notices.length;
    // The security office tags him missing (an elderly resident who did not come home).
    await addAlert(admin(community, { actor: 'sec-wang', enroller: pipelineEnroller(pipeline) }), { tag: 'missing-person', personId: approvedId, note: '家属报告未归' });
    await waitFor(() => door.notices.slice(noticesBefore).find((m) => /applied: version \d+$/.test(m)), 15_000, 'the tag at the door');

    const { context, page } = await open();
    try {
      await login(page, 'sec-wang', NEW_PASSWORD);
      await page.getByRole('heading', { name: '告警看板' }).waitFor();
      expect(await navLinks(page)).toEqual(['告警', '门', '设备状态']);
      await page.getByText('实时更新已连接').waitFor();
      // When each sighting row reaches the page (the browser's clock is this machine's).
      await page.evaluate(`window.seen = {};
        new MutationObserver(() => {
          for (const row of document.querySelectorAll('tr[data-sighting]')) window.seen[row.getAttribute('data-sighting')] ??= Date.now();
        }).observe(document.body, { childList: true, subtree: true });`);

      const known = community.db.alerts().length;
      const d = await door.passage('a decision on the tagged resident');
      expect(d.decision.alerts).toEqual([{ tag: 'missing-person', personId: approvedId }]);
      const sighting = await waitFor(() => community.db.alerts('missing-person').find((a) => a.id > known), 10_000, 'the sighting at the hub');
      const row = page.locator(`tr[data-sighting="${sighting.id}"]`);
      await row.waitFor({ timeout: 10_000 });
      const shownAt = Number(await page.evaluate(`window.seen[${JSON.stringify(String(sighting.id))}] ?? 0`));
      // Measured from the hub's receipt of the terminal's event to the row on screen (the terminal's
      // own delay to the hub is the sync's, measured by bench:sync).
      expect(shownAt - sighting.raisedAt).toBeLessThanOrEqual(SIGHTING_TO_SCREEN_MS);
      expect(shownAt).toBeGreaterThanOrEqual(sighting.raisedAt - 50);
      const cells = await row.getByRole('cell').allInnerTexts();
      expect(cells).toEqual([expect.stringMatching(/\d{2}:\d{2}:\d{2}/), 'missing-person', approvedId, 'door-1', 't1', expect.stringMatching(/^0\.\d\d$/)]);
      await page.getByRole('status').filter({ hasText: '新发现：missing-person，door-1' }).waitFor();
      await shot(page, 'alerts.zh-CN');
    } finally {
      await context.close();
    }
  }, 90_000);

  it('shows the admin the doors with their state and a remote unlock with a reason, fleet health with versions, and the audit log with its CSV export', async () => {
    const { context, page } = await open();
    try {
      await login(page, 'admin-zhao', NEW_PASSWORD);
      await page.getByRole('heading', { name: '注册审核队列' }).waitFor();
      expect(await navLinks(page)).toEqual(['审核队列', '住户', '长期未使用', '告警', '门', '设备状态', '审计日志']);

      await page.getByRole('link', { name: '门' }).click();
      await page.getByRole('heading', { name: '门与报警' }).waitFor();
      const row1 = page.getByRole('row').filter({ hasText: 'door-1' });
      // The page loads its rows after its heading: wait for them (a missing state fails at the timeout).
      await row1.getByText('在线').waitFor({ timeout: 10_000 });
      await page.getByRole('row').filter({ hasText: 'door-2' }).getByText('离线').waitFor({ timeout: 10_000 });
      const unlocksBefore = door.remoteUnlocks.length;
      await page.getByRole('button', { name: '远程打开 door-1' }).click();
      await page.getByLabel('开门原因（将记入审计日志）').fill('快递员送药');
      await shot(page, 'doors.zh-CN');
      await page.getByRole('button', { name: '远程打开 door-1' }).click();
      await page.getByText('已向 door-1 发送开门指令。').waitFor();
      await waitFor(() => door.remoteUnlocks.length > unlocksBefore || undefined, 15_000, 'the remote unlock at the door');

      await page.getByRole('link', { name: '设备状态' }).click();
      await page.getByText('在线 1 台，离线 1 台').waitFor();
      const t1Row = page.getByRole('row').filter({ hasText: 'door-1' });
      // The versions t1 reports in its heartbeats.
      await waitFor(async () => (await t1Row.innerText()).includes(pipeline.modelId), 5000, 'the versions of t1');
      await page.getByRole('columnheader', { name: '升级状态' }).waitFor({ timeout: 10_000 }); // each terminal's update state
      await shot(page, 'fleet.zh-CN');

      await page.getByRole('link', { name: '审计日志' }).click();
      await page.getByRole('heading', { name: '审计日志' }).waitFor();
      await page.getByRole('row').filter({ hasText: 'registration.approve' }).filter({ hasText: 'mgr-1' }).first().waitFor();
      await page.getByRole('row').filter({ hasText: 'command.unlock' }).filter({ hasText: 'admin-zhao' }).first().waitFor();
      const csv = page.getByRole('link', { name: '导出 CSV' });
      expect(await csv.getAttribute('href')).toBe('/api/audit.csv');
      // What the link downloads, fetched by the page with the admin's session.
      const r = await page.evaluate<{ status: number; type: string; text: string }>("fetch('/api/audit.csv').then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), text: await r.text() }))");
      expect([r.status, r.type]).toEqual([200, 'text/csv; charset=utf-8']);
      expect(r.text).toContain('"registration.approve"');
      await shot(page, 'audit.zh-CN');
    } finally {
      await context.close();
    }
  }, 90_000);
});
