/**
 * Residents registered but long unused (issue 16 item 5): active residents not let in at any door for
 * N days, computed by the hub from its entry events (a manager sees their buildings only). For each,
 * the manager confirms they still live here (hidden for N more days, audited) or ends their access
 * (the residents' own revoke).
 */
import { useState } from 'preact/hooks';
import { api, query, type Me, type UnusedResident } from '../api';
import { formatTime, t } from '../i18n';
import { ErrorLine, errorText, Field, Page, StatusLine, useLoad } from '../ui';
import { ResidentCells, ResidentHeadings, Revoke } from './residents';

export function UnusedPage({ me }: { me: Me }): preact.JSX.Element {
  const [days, setDays] = useState('90');
  const [asked, setAsked] = useState(90);
  const [message, setMessage] = useState<string | null>(null);
  const list = useLoad(() => api<{ days: number; items: UnusedResident[] }>('GET', `/api/residents/unused${query({ days: asked })}`), [asked]);
  const canWrite = me.permissions.includes('residents.write');
  const done = (m: string): void => {
    setMessage(m);
    list.reload();
  };
  return (
    <Page title={t('unused.title')}>
      <p>{t('unused.intro', { days: list.data?.days ?? asked })}</p>
      <form class="toolbar" onSubmit={(e) => { e.preventDefault(); setAsked(Number(days)); }}>
        <Field label={t('unused.days')}>
          <input name="days" type="number" min={1} max={3650} required value={days} onInput={(e) => setDays(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="primary">{t('unused.show')}</button>
      </form>
      <StatusLine text={message} />
      <ErrorLine error={list.error} />
      {list.data && <p>{t('unused.total', { n: list.data.items.length, days: list.data.days })}</p>}
      {list.data && list.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <ResidentHeadings />
              <th scope="col">{t('unused.lastSeen')}</th>
              <th scope="col">{t('unused.confirmedAt')}</th>
              {canWrite && <th scope="col"><span class="visually-hidden">{t('unused.actions')}</span></th>}
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((r) => (
              <tr key={r.personId}>
                <ResidentCells resident={r} />
                <td>{r.lastSeenAt === null ? t('unused.neverSeen') : formatTime(r.lastSeenAt)}</td>
                <td>{r.confirmedAt === null ? '—' : formatTime(r.confirmedAt)}</td>
                {canWrite && (
                  <td>
                    <div class="actions">
                      <Confirm resident={r} onDone={done} />
                      <Revoke resident={r} onDone={done} />
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

function Confirm({ resident: r, onDone }: { resident: UnusedResident; onDone: (message: string) => void }): preact.JSX.Element {
  const [error, setError] = useState<string | null>(null);
  const name = r.name ?? r.personId;
  return (
    <>
      <button type="button" aria-label={t('unused.confirmOf', { name })} onClick={() => {
        api('POST', `/api/residents/${r.personId}/confirm`, {}).then(() => onDone(t('unused.confirmed', { name })), (err: unknown) => setError(errorText(err)));
      }}>{t('unused.confirm')}</button>
      {error && <p class="error" role="alert">{error}</p>}
    </>
  );
}
