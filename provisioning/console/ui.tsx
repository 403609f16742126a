/** Small pieces every page uses: loading data, showing an error, a status line, a labelled field. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { t } from './i18n';

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change or `reload` is called; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    load().then((d) => live && (setData(d), setError(null)), (e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { data, error, reload };
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError && e.status === 403) return t('common.forbidden');
  return t('common.error', { detail: e instanceof Error ? e.message : String(e) });
}

export function ErrorLine({ error }: { error: unknown }): preact.JSX.Element | null {
  if (!error) return null;
  return <p class="error" role="alert">{errorText(error)}</p>;
}

export function StatusLine({ text }: { text: string | null }): preact.JSX.Element {
  return <p class="status" role="status" aria-live="polite">{text ?? ''}</p>;
}

export function Field({ label, children }: { label: string; children: ComponentChildren }): preact.JSX.Element {
  return (
    <label class="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

export function Page({ title, children }: { title: string; children: ComponentChildren }): preact.JSX.Element {
  useEffect(() => {
    document.title = `${title} · ${t('app.title')}`;
  }, [title]);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>{title}</h1>
      {children}
    </section>
  );
}
