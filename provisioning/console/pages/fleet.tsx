/** Fleet health: every terminal, online or not (live), heartbeat, roster, versions and update state, faults, certificate. */
import { api, type Terminal } from '../api';
import { formatTime, t } from '../i18n';
import { useLive } from '../live';
import { ErrorLine, Page, useLoad } from '../ui';

export function FleetPage(): preact.JSX.Element {
  const fleet = useLoad(() => api<{ items: Terminal[] }>('GET', '/api/terminals'), []);
  useLive('terminal', () => fleet.reload());
  const items = (fleet.data?.items ?? []).filter((x) => x.status === 'active');
  const online = items.filter((x) => x.online).length;
  return (
    <Page title={t('fleet.title')}>
      <ErrorLine error={fleet.error} />
      {fleet.data && <p>{t('fleet.online', { n: online, m: items.length - online })}</p>}
      {items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('common.terminal')}</th>
              <th scope="col">{t('common.door')}</th>
              <th scope="col">{t('common.building')}</th>
              <th scope="col">{t('doors.state')}</th>
              <th scope="col">{t('fleet.heartbeat')}</th>
              <th scope="col">{t('fleet.roster')}</th>
              <th scope="col">{t('fleet.outbox')}</th>
              <th scope="col">{t('fleet.software')}</th>
              <th scope="col">{t('fleet.update')}</th>
              <th scope="col">{t('fleet.model')}</th>
              <th scope="col">{t('fleet.faults')}</th>
              <th scope="col">{t('fleet.certificate')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((x) => (
              <tr key={x.terminalId}>
                <td>{x.terminalId}</td>
                <td>{x.doorId}</td>
                <td>{x.buildingId}</td>
                <td><span class={`badge ${x.online ? 'online' : 'offline'}`}>{t(x.online ? 'common.online' : 'common.offline')}</span></td>
                <td>{formatTime(x.lastHeartbeat)}</td>
                <td>{x.rosterVersion ?? '—'}{x.rosterLag ? ` (${x.rosterLag})` : ''}</td>
                <td>{x.outboxDepth ?? '—'}</td>
                <td>{x.version ?? x.softwareVersion ?? '—'}</td>
                <td>{x.update ? `${x.update.state}${x.update.slot ? ` (${t('fleet.slot')} ${x.update.slot})` : ''}` : '—'}</td>
                <td>{x.modelVersion ?? '—'}</td>
                <td>{x.faults && x.faults.length > 0 ? x.faults.join(', ') : '—'}</td>
                <td>{x.certificate ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
