/**
 * The alerts board: who is being looked for, and their sightings, newest first. A sighting the hub
 * records while the board is open comes over the live feed and appears at once, with door and time.
 */
import { useState } from 'preact/hooks';
import { api, type Alerts, type Sighting } from '../api';
import { formatTime, t } from '../i18n';
import { useLive, useLiveConnected } from '../live';
import { ErrorLine, Page, StatusLine, useLoad } from '../ui';

export function AlertsPage(): preact.JSX.Element {
  const data = useLoad(() => api<Alerts>('GET', '/api/alerts'), []);
  const [live, setLive] = useState<Sighting[]>([]);
  const [news, setNews] = useState<string | null>(null);
  useLive('sighting', (d) => {
    const s = d as unknown as Sighting;
    setLive((l) => [s, ...l.filter((x) => x.id !== s.id)]);
    setNews(t('alerts.new', { tag: s.tag, door: s.doorId, time: formatTime(s.at) }));
  });
  const known = new Set(live.map((s) => s.id));
  const sightings = [...live, ...(data.data?.sightings ?? []).filter((s) => !known.has(s.id)).sort((a, b) => b.at - a.at)];
  const fresh = new Set(live.map((s) => s.id));
  const connected = useLiveConnected();
  return (
    <Page title={t('alerts.title')}>
      <p class={`live ${connected ? 'on' : 'off'}`}>{connected ? t('alerts.live') : t('alerts.liveOff')}</p>
      <ErrorLine error={data.error} />
      <StatusLine text={news} />
      <h2>{t('alerts.active')}</h2>
      {data.data && data.data.active.length === 0 && <p>{t('common.none')}</p>}
      {data.data && data.data.active.length > 0 && (
        <table>
          <thead><tr><th scope="col">{t('alerts.person')}</th><th scope="col">{t('alerts.tag')}</th><th scope="col">{t('alerts.note')}</th></tr></thead>
          <tbody>
            {data.data.active.map((a) => <tr key={a.personId}><td><code>{a.personId}</code></td><td>{a.tags.join(', ')}</td><td>{a.note ?? ''}</td></tr>)}
          </tbody>
        </table>
      )}
      <h2>{t('alerts.sightings')}</h2>
      {data.data && sightings.length === 0 && <p>{t('common.none')}</p>}
      {sightings.length > 0 && (
        <table class="sightings">
          <thead>
            <tr>
              <th scope="col">{t('common.time')}</th>
              <th scope="col">{t('alerts.tag')}</th>
              <th scope="col">{t('alerts.person')}</th>
              <th scope="col">{t('common.door')}</th>
              <th scope="col">{t('common.terminal')}</th>
              <th scope="col">{t('alerts.score')}</th>
            </tr>
          </thead>
          <tbody>
            {sightings.map((s) => (
              <tr key={s.id} data-sighting={s.id} class={fresh.has(s.id) ? 'fresh' : undefined}>
                <td>{formatTime(s.at)}</td>
                <td>{s.tag}</td>
                <td><code>{s.personId}</code></td>
                <td>{s.doorId}</td>
                <td>{s.terminalId}</td>
                <td>{s.score.toFixed(2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
