/**
 * The approval queue: pending registrations of the operator's buildings (the API filters them); one
 * opened beside the list with the identity (the portrait the real-name check gave, name, masked number,
 * the check's verdict) beside each registration photo with its quality verdict; approve, or reject with
 * a reason.
 */
import { useState } from 'preact/hooks';
import { api, type Me, type Registration } from '../api';
import { formatTime, t } from '../i18n';
import { ErrorLine, errorText, Field, Page, StatusLine, useLoad } from '../ui';

export function QueuePage({ me }: { me: Me }): preact.JSX.Element {
  const list = useLoad(() => api<{ items: Registration[] }>('GET', '/api/registrations?status=pending'), []);
  const [open, setOpen] = useState<Registration | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const canDecide = me.permissions.includes('registrations.decide');
  const items = list.data?.items ?? [];
  return (
    <Page title={t('queue.title')}>
      <StatusLine text={status} />
      <ErrorLine error={list.error} />
      <div class="split">
        <div>
          {list.data && items.length === 0 && <p>{t('queue.empty')}</p>}
          {items.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('queue.name')}</th>
                  <th scope="col">{t('common.building')}</th>
                  <th scope="col">{t('common.room')}</th>
                  <th scope="col">{t('queue.realName')}</th>
                  <th scope="col">{t('queue.submitted')}</th>
                  <th scope="col"><span class="visually-hidden">{t('queue.review')}</span></th>
                </tr>
              </thead>
              <tbody>
                {items.map((r) => (
                  <tr key={r.id} aria-selected={open?.id === r.id}>
                    <td>{r.name}</td>
                    <td>{r.buildingId}</td>
                    <td>{r.room}</td>
                    <td><span class={`badge ${r.realName}`}>{t(`realName.${r.realName}`)}</span></td>
                    <td>{formatTime(r.submittedAt)}</td>
                    <td>
                      <button type="button" aria-label={t('queue.reviewOf', { name: r.name })} onClick={() => { setOpen(r); setStatus(null); }}>{t('queue.review')}</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        {open && (
          <Review
            key={open.id}
            registration={open}
            canDecide={canDecide}
            onClose={() => setOpen(null)}
            onDecided={(text) => { setStatus(text); setOpen(null); list.reload(); }}
          />
        )}
      </div>
    </Page>
  );
}

function Review({ registration: r, canDecide, onClose, onDecided }: { registration: Registration; canDecide: boolean; onClose: () => void; onDecided: (text: string) => void }): preact.JSX.Element {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const decide = async (how: 'approve' | 'reject'): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await api('POST', `/api/registrations/${r.id}/${how}`, how === 'approve' ? {} : { reason });
      onDecided(t(how === 'approve' ? 'queue.approved' : 'queue.rejected', { name: r.name }));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card review" aria-labelledby="review-title">
      <h2 id="review-title">{t('queue.reviewOf', { name: r.name })}</h2>
      <div class="compare">
        <div class="identity">
          <h3>{t('queue.identity')}</h3>
          <figure class="portrait">
            {r.identityPhoto
              ? <img src={`/api/registrations/${r.id}/identity-photo`} alt={t('queue.identityPhotoAlt', { name: r.name })} width={160} height={160} />
              : <div class="no-portrait">{t('queue.noIdentityPhoto')}</div>}
            <figcaption>{t('queue.identityPhoto')}</figcaption>
          </figure>
          <dl>
            <dt>{t('queue.name')}</dt><dd>{r.name}</dd>
            <dt>{t('queue.idNumber')}</dt><dd>{r.idNumberMasked}</dd>
            <dt>{t('queue.realName')}</dt><dd><span class={`badge ${r.realName}`}>{t(`realName.${r.realName}`)}</span></dd>
            <dt>{t('common.building')}</dt><dd>{r.buildingId}</dd>
            <dt>{t('common.room')}</dt><dd>{r.room}</dd>
          </dl>
        </div>
        <div>
          <h3>{t('queue.photos')}</h3>
          <div class="photos">
            {r.photos.map((p, i) => (
              <figure key={p.name}>
                <img src={`/api/registrations/${r.id}/photos/${i + 1}`} alt={t('queue.photoAlt', { n: i + 1, name: r.name })} width={160} height={160} />
                <figcaption>
                  <span class={`badge ${p.verdict}`}>{t(`queue.verdict.${p.verdict}`)}</span>
                  {p.reasons.length > 0 && <span> {p.reasons.join(', ')}</span>}
                </figcaption>
              </figure>
            ))}
          </div>
        </div>
      </div>
      {canDecide && (
        <div class="decide">
          <button type="button" class="primary" disabled={busy} onClick={() => void decide('approve')}>{t('queue.approve')}</button>
          <form class="reject" onSubmit={(e) => { e.preventDefault(); void decide('reject'); }}>
            <Field label={t('queue.rejectReason')}>
              <input name="reason" required maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
            </Field>
            <button type="submit" class="danger" disabled={busy}>{t('queue.reject')}</button>
          </form>
        </div>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      <button type="button" onClick={onClose}>{t('queue.close')}</button>
    </section>
  );
}
