/**
 * A list in pages, as client-go's reflector lists (500 objects a page): the server answers each
 * page from one consistent snapshot, so the joined pages are the list a single call would give,
 * while the process only ever holds one page's text and its parse at a time. At 10,000 Services
 * a single list is tens of megabytes of JSON, and its parse the peak of the controller's heap.
 */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { apiStatus } from './api-errors.js';

export const LIST_PAGE_SIZE = 500;

export type PageRequest = { limit: number; _continue?: string };

/**
 * Lists every page of `list`, each page's objects passed through `transform` as it lands. A
 * continue token that expired mid-way (410) starts over without pages, as the reflector does:
 * a consistent list matters more than the memory of one slow list.
 */
export async function listInPages<T extends KubernetesObject>(
  list: (page: PageRequest | undefined) => Promise<KubernetesListObject<T>>,
  transform: (obj: T) => T = (obj) => obj,
  pageSize = LIST_PAGE_SIZE,
): Promise<KubernetesListObject<T>> {
  const items: T[] = [];
  let page: KubernetesListObject<T> | undefined;
  let token: string | undefined;
  do {
    try {
      page = await list({ limit: pageSize, ...(token ? { _continue: token } : {}) });
    } catch (err) {
      if (token === undefined || apiStatus(err) !== 410) throw err;
      const whole = await list(undefined);
      whole.items = whole.items.map(transform);
      return whole;
    }
    for (const item of page.items) items.push(transform(item));
    token = page.metadata?._continue || undefined;
  } while (token);
  return { ...page, metadata: { ...page.metadata, _continue: undefined }, items };
}
