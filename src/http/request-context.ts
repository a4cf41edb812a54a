import { AsyncLocalStorage } from 'node:async_hooks';

/** Facts gathered while one request is served, for its access-log line and the metrics. */
export interface RequestFacts {
  /** Whether the title (index) cache had the title: set by TitleCache.get. */
  titleCache?: 'hit' | 'miss';
}

export const requestFacts = new AsyncLocalStorage<RequestFacts>();

/** Records a title cache outcome on the current request, if any is being observed. */
export function noteTitleCache(hit: boolean): void {
  const facts = requestFacts.getStore();
  if (facts) facts.titleCache = hit ? 'hit' : 'miss';
}
