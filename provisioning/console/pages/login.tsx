/** Login, and the change of a one-time password that must come before anything else. */
import { useState } from 'preact/hooks';
import { api, ApiError, setCsrfToken, type Me } from '../api';
import { t } from '../i18n';
import { errorText, Field, Page } from '../ui';

export function LoginPage({ onLogin }: { onLogin: (me: Me, csrf: string) => void }): preact.JSX.Element {
  const [id, setId] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ csrfToken: string }>('POST', '/api/session', { id, password });
      setCsrfToken(r.csrfToken);
      onLogin(await api<Me>('GET', '/api/me'), r.csrfToken);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? t('login.failed') : err instanceof ApiError && err.status === 429 ? t('login.locked') : errorText(err));
    } finally {
      setBusy(false);
      setPassword('');
    }
  };
  return (
    <Page title={t('login.title')}>
      <form class="card narrow" onSubmit={(e) => void submit(e)}>
        <Field label={t('login.id')}>
          <input name="id" autoComplete="username" required value={id} onInput={(e) => setId(e.currentTarget.value)} />
        </Field>
        <Field label={t('login.password')}>
          <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={busy}>{t('login.submit')}</button>
      </form>
    </Page>
  );
}

export function PasswordPage({ onChanged }: { onChanged: () => void }): preact.JSX.Element {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (next !== again) return setError(t('password.mismatch'));
    try {
      await api('POST', '/api/me/password', { current, next });
      onChanged();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <Page title={t('password.title')}>
      <form class="card narrow" onSubmit={(e) => void submit(e)}>
        <p>{t('password.why')}</p>
        <Field label={t('password.current')}>
          <input name="current" type="password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        </Field>
        <Field label={t('password.next')}>
          <input name="next" type="password" autoComplete="new-password" required minLength={12} value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        </Field>
        <Field label={t('password.confirm')}>
          <input name="confirm" type="password" autoComplete="new-password" required minLength={12} value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
        </Field>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary">{t('password.submit')}</button>
      </form>
    </Page>
  );
}
