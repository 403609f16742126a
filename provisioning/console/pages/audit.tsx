/** The audit log, newest first, filtered by operator and action, older pages on request, CSV export. */
import { useState } from 'preact/hooks';
import { api, query, type AuditRow } from '../api';
import { formatTime, t } from '../i18n';
import { ErrorLine, Field, Page, useLoad } from '../ui';

export function AuditPage(): preact.JSX.Element {
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [filter, setFilter] = useState({ actor: '', action: '', before: undefined as number | undefined });
  const rows = useLoad(() => api<{ items: AuditRow[]; next: number | null }>('GET', `/api/audit${query({ ...filter, limit: 50 })}`), [filter]);
  const csv = `/api/audit.csv${query({ actor: filter.actor, action: filter.action })}`;
  return (
    <Page title={t('audit.title')}>
      <form class="toolbar" onSubmit={(e) => { e.preventDefault(); setFilter({ actor, action, before: undefined }); }}>
        <Field label={t('audit.actor')}>
          <input name="actor" value={actor} maxLength={64} onInput={(e) => setActor(e.currentTarget.value)} />
        </Field>
        <Field label={t('audit.action')}>
          <input name="action" value={action} maxLength={60} onInput={(e) => setAction(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="primary">{t('audit.filter')}</button>
        <a class="button" href={csv} download="audit.csv">{t('audit.csv')}</a>
      </form>
      <ErrorLine error={rows.error} />
      {rows.data && rows.data.items.length === 0 && <p>{t('common.none')}</p>}
      {rows.data && rows.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('common.time')}</th>
              <th scope="col">{t('audit.actor')}</th>
              <th scope="col">{t('audit.action')}</th>
              <th scope="col">{t('audit.subject')}</th>
              <th scope="col">{t('audit.detail')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.data.items.map((r) => (
              <tr key={r.id}>
                <td>{formatTime(r.at)}</td>
                <td>{r.actor}</td>
                <td><code>{r.action}</code></td>
                <td><code>{r.subject}</code></td>
                <td class="detail">{JSON.stringify(r.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows.data?.next != null && (
        <button type="button" onClick={() => setFilter({ ...filter, before: rows.data?.next ?? undefined })}>{t('audit.older')}</button>
      )}
    </Page>
  );
}
