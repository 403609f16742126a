/** Resident search (id, name, room; by status), a page at a time; revoke with a reason where the role allows. */
import { useState } from 'preact/hooks';
import { api, query, type Me, type Resident } from '../api';
import { t } from '../i18n';
import { ErrorLine, errorText, Field, Page, StatusLine, useLoad } from '../ui';

const PAGE_SIZE = 25;

export function ResidentsPage({ me }: { me: Me }): preact.JSX.Element {
  const [q, setQ] = useState('');
  const [status, setStatus] = useState<'' | Resident['status']>('active');
  const [search, setSearch] = useState({ q: '', status: 'active', page: 1 });
  const [message, setMessage] = useState<string | null>(null);
  const list = useLoad(() => api<{ items: Resident[]; total: number }>('GET', `/api/residents${query({ q: search.q, status: search.status, page: search.page, pageSize: PAGE_SIZE })}`), [search]);
  const canWrite = me.permissions.includes('residents.write');
  const pages = Math.max(1, Math.ceil((list.data?.total ?? 0) / PAGE_SIZE));
  return (
    <Page title={t('residents.title')}>
      <form class="toolbar" role="search" onSubmit={(e) => { e.preventDefault(); setSearch({ q, status, page: 1 }); }}>
        <Field label={t('residents.search')}>
          <input name="q" type="search" value={q} maxLength={100} onInput={(e) => setQ(e.currentTarget.value)} />
        </Field>
        <Field label={t('common.status')}>
          <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value as '' | Resident['status'])}>
            <option value="">{t('common.all')}</option>
            {(['active', 'pending', 'revoked'] as const).map((s) => <option key={s} value={s}>{t(`residents.status.${s}`)}</option>)}
          </select>
        </Field>
        <button type="submit" class="primary">{t('residents.submit')}</button>
      </form>
      <StatusLine text={message} />
      <ErrorLine error={list.error} />
      {list.data && <p>{t('residents.total', { n: list.data.total })}</p>}
      {list.data && list.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <ResidentHeadings />
              <th scope="col">{t('residents.access')}</th>
              <th scope="col">{t('common.status')}</th>
              {canWrite && <th scope="col"><span class="visually-hidden">{t('residents.revoke')}</span></th>}
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((r) => (
              <tr key={r.personId}>
                <ResidentCells resident={r} />
                <td>{r.access.map((a) => [...a.buildingIds, ...a.doorIds].join(', ') + (a.validUntil ? ` (${t('residents.until', { date: lastDay(a.validUntil) })})` : '')).join('; ') || '—'}</td>
                <td>{t(`residents.status.${r.status}`)}</td>
                {canWrite && (
                  <td>
                    {r.status !== 'revoked' && (
                      <div class="actions">
                        <Access resident={r} onDone={(m) => { setMessage(m); list.reload(); }} />
                        <Revoke resident={r} onDone={(m) => { setMessage(m); list.reload(); }} />
                      </div>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pages > 1 && (
        <div class="pager">
          <button type="button" disabled={search.page <= 1} onClick={() => setSearch({ ...search, page: search.page - 1 })}>{t('common.prev')}</button>
          <span>{t('residents.page', { page: search.page, pages })}</span>
          <button type="button" disabled={search.page >= pages} onClick={() => setSearch({ ...search, page: search.page + 1 })}>{t('common.next')}</button>
        </div>
      )}
    </Page>
  );
}

/**
 * The last day of an access that ends at `validUntil` (the midnight after that day, as the API keeps it),
 * as YYYY-MM-DD in this browser's time zone: what the operator typed as the end date.
 */
/** The columns every list of residents starts with: id, registered name, room, buildings (residents, unused). */
export function ResidentHeadings(): preact.JSX.Element {
  return (
    <>
      <th scope="col">{t('residents.id')}</th>
      <th scope="col">{t('residents.name')}</th>
      <th scope="col">{t('common.room')}</th>
      <th scope="col">{t('common.building')}</th>
    </>
  );
}

export function ResidentCells({ resident: r }: { resident: Pick<Resident, 'personId' | 'name' | 'room' | 'buildings'> }): preact.JSX.Element {
  return (
    <>
      <td><code>{r.personId}</code></td>
      <td>{r.name ?? '—'}</td>
      <td>{r.room ?? '—'}</td>
      <td>{r.buildings.join(', ')}</td>
    </>
  );
}

function lastDay(validUntil: string): string {
  const d = new Date(Date.parse(validUntil) - 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

const list = (v: string): string[] => v.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);

/** Replace the buildings and doors a resident may open, and until when (the API checks a manager's buildings). */
function Access({ resident: r, onDone }: { resident: Resident; onDone: (message: string) => void }): preact.JSX.Element {
  const [open, setOpen] = useState(false);
  const [buildings, setBuildings] = useState(r.access.flatMap((a) => a.buildingIds).join(', '));
  const [doors, setDoors] = useState(r.access.flatMap((a) => a.doorIds).join(', '));
  const given = r.access.find((a) => a.validUntil)?.validUntil;
  const [until, setUntil] = useState(given ? lastDay(given) : '');
  const [error, setError] = useState<string | null>(null);
  const name = r.name ?? r.personId;
  if (!open) return <button type="button" aria-label={t('residents.changeAccessOf', { name })} onClick={() => setOpen(true)}>{t('residents.editAccess')}</button>;
  return (
    <form class="inline" onSubmit={(e) => {
      e.preventDefault();
      api('PUT', `/api/residents/${r.personId}/access`, { buildings: list(buildings), doors: list(doors), ...(until ? { until } : {}) })
        .then(() => { setOpen(false); onDone(t('residents.accessSaved', { name })); }, (err: unknown) => setError(errorText(err)));
    }}>
      <Field label={t('residents.buildings')}>
        <input name="buildings" value={buildings} maxLength={400} onInput={(e) => setBuildings(e.currentTarget.value)} />
      </Field>
      <Field label={t('residents.doors')}>
        <input name="doors" value={doors} maxLength={400} onInput={(e) => setDoors(e.currentTarget.value)} />
      </Field>
      <Field label={t('residents.validUntil')}>
        <input name="until" type="date" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
      </Field>
      <button type="submit" class="primary">{t('residents.accessOf', { name })}</button>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}

/** Revoke with a reason (also on the unused-residents page, to end a resident's access). */
export function Revoke({ resident: r, onDone }: { resident: Pick<Resident, 'personId' | 'name'>; onDone: (message: string) => void }): preact.JSX.Element {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const name = r.name ?? r.personId;
  if (!open) return <button type="button" aria-label={t('residents.revokeOf', { name })} onClick={() => setOpen(true)}>{t('residents.revoke')}</button>;
  return (
    <form class="inline" onSubmit={(e) => {
      e.preventDefault();
      api('POST', `/api/residents/${r.personId}/revoke`, { reason }).then(() => onDone(t('residents.revoked', { name })), (err: unknown) => setError(errorText(err)));
    }}>
      <Field label={t('common.reason')}>
        <input name="reason" required maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </Field>
      <button type="submit" class="danger">{t('residents.revokeOf', { name })}</button>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}
