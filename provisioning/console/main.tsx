/**
 * The hub's web console: login (and the forced change of a one-time password), then the pages the
 * operator's role may use (the API's /api/me says which): approval queue, residents, residents long unused, alerts board,
 * doors, fleet health, audit log. Client-side routes in the fragment (/console/#/queue), so the hub
 * serves one page. Simplified Chinese by default, English on request (remembered).
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrfToken, whenUnauthenticated, type Me } from './api';
import { initialLang, LANGS, lang, setLang, t, type Lang, type MessageKey } from './i18n';
import { closeLive, openLive } from './live';
import { AlertsPage } from './pages/alerts';
import { AuditPage } from './pages/audit';
import { DoorsPage } from './pages/doors';
import { FleetPage } from './pages/fleet';
import { LoginPage, PasswordPage } from './pages/login';
import { QueuePage } from './pages/queue';
import { ResidentsPage } from './pages/residents';
import { UnusedPage } from './pages/unused';
import './style.css';

interface Route {
  path: string;
  label: MessageKey;
  /** The permission the page needs (the operator does not see the page without it). */
  permission: string;
  page: (p: { me: Me }) => preact.JSX.Element;
}

const ROUTES: Route[] = [
  { path: 'queue', label: 'nav.queue', permission: 'registrations.read', page: QueuePage },
  { path: 'residents', label: 'nav.residents', permission: 'residents.read', page: ResidentsPage },
  { path: 'unused', label: 'nav.unused', permission: 'residents.read', page: UnusedPage },
  { path: 'alerts', label: 'nav.alerts', permission: 'alerts.read', page: AlertsPage },
  { path: 'doors', label: 'nav.doors', permission: 'doors.read', page: DoorsPage },
  { path: 'fleet', label: 'nav.fleet', permission: 'terminals.read', page: FleetPage },
  { path: 'audit', label: 'nav.audit', permission: 'audit.read', page: AuditPage },
];

function currentPath(): string {
  return location.hash.replace(/^#\/?/, '').split('?')[0] ?? '';
}

function App(): preact.JSX.Element {
  const [language, setLanguage] = useState<Lang>(lang());
  const [me, setMe] = useState<Me | null | undefined>(undefined); // undefined: not known yet
  const [path, setPath] = useState(currentPath());

  useEffect(() => {
    const onHash = (): void => setPath(currentPath());
    window.addEventListener('hashchange', onHash);
    whenUnauthenticated(() => {
      closeLive();
      setMe(null);
    });
    api<Me>('GET', '/api/me').then((m) => {
      setCsrfToken(m.csrfToken ?? null);
      setMe(m);
    }, () => setMe(null));
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const loggedIn = me && !me.operator.mustChangePassword;
  useEffect(() => {
    if (loggedIn) openLive();
  }, [loggedIn]);

  const chooseLang = (l: Lang): void => {
    setLang(l);
    setLanguage(l);
  };

  const allowed = me ? ROUTES.filter((r) => me.permissions.includes(r.permission)) : [];
  const route = allowed.find((r) => r.path === path) ?? allowed[0];

  useEffect(() => {
    // Focus the new page's heading, so keyboard and screen-reader users land on it.
    if (loggedIn) document.getElementById('page-title')?.focus();
  }, [loggedIn, route?.path]);

  const logout = async (): Promise<void> => {
    await api('DELETE', '/api/session').catch(() => undefined);
    closeLive();
    setCsrfToken(null);
    setMe(null);
  };

  const langSwitch = (
    <label class="lang">
      <span>{t('lang.label')}</span>
      <select value={language} onChange={(e) => chooseLang(e.currentTarget.value as Lang)}>
        {LANGS.map((l) => <option key={l.lang} value={l.lang}>{l.label}</option>)}
      </select>
    </label>
  );

  return (
    <div class="app" key={language}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>{t('app.skip')}</a>
      <header class="top">
        <span class="brand">{t('app.title')}</span>
        {me && (
          <span class="who">
            {t('me.signedIn', { id: me.operator.id, role: t(`role.${me.operator.role}`) })}
            {me.operator.buildings.length > 0 && <> · {t('me.buildings', { list: me.operator.buildings.join(', ') })}</>}
          </span>
        )}
        {langSwitch}
        {me && <button type="button" onClick={() => void logout()}>{t('me.logout')}</button>}
      </header>
      {me && loggedIn && (
        <nav aria-label={t('nav.label')} class="nav">
          <ul>
            {allowed.map((r) => (
              <li key={r.path}>
                <a href={`#/${r.path}`} aria-current={r === route ? 'page' : undefined}>{t(r.label)}</a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <main id="main" tabIndex={-1}>
        {me === undefined && <p>{t('common.loading')}</p>}
        {me === null && <LoginPage onLogin={(m, csrf) => { setCsrfToken(csrf); setMe(m); }} />}
        {me && !loggedIn && <PasswordPage onChanged={() => void api<Me>('GET', '/api/me').then(setMe, () => setMe(null))} />}
        {me && loggedIn && route && <route.page me={me} />}
      </main>
    </div>
  );
}

setLang(initialLang());
const root = document.getElementById('app');
if (root) render(<App />, root);
