/**
 * The hub's live feed (GET /api/live, Server-Sent Events) for the pages: one EventSource while someone
 * is logged in; pages subscribe to a kind (entry, alarm, sighting, terminal) with useLive. The browser
 * reconnects by itself when the stream drops.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export type LiveKind = 'entry' | 'alarm' | 'sighting' | 'terminal';
type Listener = (data: Record<string, unknown>) => void;

const listeners = new Map<LiveKind, Set<Listener>>();
const stateListeners = new Set<(open: boolean) => void>();
let source: EventSource | null = null;
let connected = false;

function setConnected(open: boolean): void {
  connected = open;
  for (const f of stateListeners) f(open);
}

export function openLive(): void {
  if (source) return;
  source = new EventSource('/api/live', { withCredentials: true });
  source.addEventListener('open', () => setConnected(true));
  source.addEventListener('error', () => setConnected(false));
  for (const kind of ['entry', 'alarm', 'sighting', 'terminal'] as const) {
    source.addEventListener(kind, (e) => {
      let data: Record<string, unknown>;
      try {
        data = JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
      } catch {
        return;
      }
      for (const f of listeners.get(kind) ?? []) f(data);
    });
  }
}

export function closeLive(): void {
  source?.close();
  source = null;
  setConnected(false);
}

/** Whether the live feed is connected now (the pages say so: what they show is current). */
export function useLiveConnected(): boolean {
  const [open, setOpen] = useState(connected);
  useEffect(() => {
    stateListeners.add(setOpen);
    setOpen(connected);
    return () => {
      stateListeners.delete(setOpen);
    };
  }, []);
  return open;
}

/** Calls `f` with each live item of `kind` while the component is mounted. */
export function useLive(kind: LiveKind, f: Listener): void {
  const ref = useRef(f);
  ref.current = f;
  useEffect(() => {
    const l: Listener = (d) => ref.current(d);
    const set = listeners.get(kind) ?? new Set<Listener>();
    listeners.set(kind, set);
    set.add(l);
    return () => {
      set.delete(l);
    };
  }, [kind]);
}
