// The conversation list in the sidebar: pages of the caller's conversations
// (newest first, X-Total-Count for the pager) and search.

import { describe, get, getWithHeaders } from './api.js';
import { byId, formatTime, h } from './dom.js';

const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 300;

/** Wires the sidebar; `onOpen(id)` opens a conversation. */
export function initConversations({ onOpen }) {
  const list = byId('conversation-list');
  const status = byId('conversation-list-status');
  const search = byId('conversation-search');
  const prev = byId('conversations-prev');
  const next = byId('conversations-next');
  const pageLabel = byId('conversations-page');
  const pager = byId('conversation-pager');
  let page = 1;
  let total = 0;
  let selected = null;
  let searchTimer = null;
  let generation = 0; // answers to an older request are dropped

  const item = (id, title, meta) => h('li', {},
    h('button', {
      type: 'button',
      class: 'conversation',
      dataset: { testid: 'conversation-item', conversationId: id },
      'aria-current': id === selected ? 'true' : null,
      onclick: () => onOpen(id),
    },
    h('span', { class: 'title' }, title),
    h('span', { class: 'meta' }, meta)));

  async function refresh() {
    const mine = ++generation;
    const query = search.value.trim();
    status.textContent = 'Loading…';
    try {
      if (query) {
        const hits = await get(`/api/v1/conversations/search?q=${encodeURIComponent(query)}&limit=${PAGE_SIZE}`);
        if (mine !== generation) return;
        list.replaceChildren(...hits.map((hit) => item(hit.conversation_id, hit.preview || hit.conversation_id, hit.conversation_id)));
        status.textContent = hits.length ? `${hits.length} match${hits.length === 1 ? '' : 'es'}` : 'No conversation matches.';
        pager.hidden = true;
        return;
      }
      const { body, headers } = await getWithHeaders(`/api/v1/conversations?page=${page}&limit=${PAGE_SIZE}`);
      if (mine !== generation) return;
      total = Number(headers.get('X-Total-Count')) || body.length;
      if (body.length === 0 && page > 1) {
        page -= 1; // the last page emptied (a delete): show the one before
        refresh();
        return;
      }
      list.replaceChildren(...body.map((c) => item(
        c.conversation_id,
        c.last_message || '(no messages)',
        `${formatTime(c.updated_at)} · ${c.message_count} message${c.message_count === 1 ? '' : 's'}`,
      )));
      const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
      status.textContent = total ? '' : 'No conversations yet.';
      pageLabel.textContent = `Page ${page} of ${pages}`;
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
      pager.hidden = pages <= 1;
    } catch (error) {
      if (mine === generation) status.textContent = describe(error);
    }
  }

  prev.addEventListener('click', () => { page = Math.max(1, page - 1); refresh(); });
  next.addEventListener('click', () => { page += 1; refresh(); });
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refresh, SEARCH_DELAY_MS);
  });
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && search.value) {
      event.stopPropagation();
      search.value = '';
      refresh();
    }
  });

  return {
    refresh,
    /** Starts again at the first page without a search (a tenant switch). */
    reset() {
      page = 1;
      search.value = '';
      selected = null;
      list.replaceChildren();
      return refresh();
    },
    /** Marks `id` as the open conversation. */
    select(id) {
      selected = id;
      for (const button of list.querySelectorAll('button.conversation')) {
        if (button.dataset.conversationId === id) button.setAttribute('aria-current', 'true');
        else button.removeAttribute('aria-current');
      }
    },
  };
}
