/** Doors with their state and recent alarms (live); remote unlock with a reason for those who may. */
import { useState } from 'preact/hooks';
import { api, type Door, type Me } from '../api';
import { formatTime, t } from '../i18n';
import { useLive } from '../live';
import { ErrorLine, errorText, Field, Page, StatusLine, useLoad } from '../ui';

export function DoorsPage({ me }: { me: Me }): preact.JSX.Element {
  const doors = useLoad(() => api<{ items: Door[] }>('GET', '/api/doors'), []);
  const [message, setMessage] = useState<string | null>(null);
  useLive('alarm', () => doors.reload());
  useLive('terminal', () => doors.reload());
  const canUnlock = me.permissions.includes('doors.unlock');
  return (
    <Page title={t('doors.title')}>
      <StatusLine text={message} />
      <ErrorLine error={doors.error} />
      {doors.data && doors.data.items.length === 0 && <p>{t('common.none')}</p>}
      {doors.data && doors.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('common.door')}</th>
              <th scope="col">{t('common.building')}</th>
              <th scope="col">{t('doors.state')}</th>
              <th scope="col">{t('common.terminal')}</th>
              <th scope="col">{t('doors.alarms')}</th>
              {canUnlock && <th scope="col"><span class="visually-hidden">{t('doors.unlock')}</span></th>}
            </tr>
          </thead>
          <tbody>
            {doors.data.items.map((d) => (
              <tr key={d.doorId}>
                <td>{d.doorId}</td>
                <td>{d.buildingId}</td>
                <td><span class={`badge ${d.online ? 'online' : 'offline'}`}>{t(d.online ? 'common.online' : 'common.offline')}</span></td>
                <td>{d.terminals.map((x) => x.terminalId).join(', ')}</td>
                <td>
                  {d.alarms.length === 0 ? '—' : (
                    <ul class="plain">{d.alarms.slice(0, 5).map((a) => <li key={`${a.terminalId}-${a.at}-${a.type}`}>{a.type} · {formatTime(a.at)}</li>)}</ul>
                  )}
                </td>
                {canUnlock && <td><Unlock door={d.doorId} onDone={setMessage} /></td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

function Unlock({ door, onDone }: { door: string; onDone: (m: string) => void }): preact.JSX.Element {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (!open) return <button type="button" aria-label={t('doors.unlockOf', { door })} onClick={() => setOpen(true)}>{t('doors.unlock')}</button>;
  return (
    <form class="inline" onSubmit={(e) => {
      e.preventDefault();
      api('POST', `/api/doors/${door}/unlock`, { reason }).then(() => { setOpen(false); setReason(''); onDone(t('doors.unlockSent', { door })); }, (err: unknown) => setError(errorText(err)));
    }}>
      <Field label={t('doors.unlockReason')}>
        <input name="reason" required minLength={3} maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </Field>
      <button type="submit" class="danger">{t('doors.unlockOf', { door })}</button>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}
