// The chat screen: agent picker, the message log, the composer (Enter
// sends, Shift+Enter adds a line, Escape stops), Stop, and opening and
// deleting a conversation. A run in flight when a conversation is opened
// (a reload) is reattached to.

import { ApiError, apiPath, del, describe, get } from './api.js';
import { byId, h, setMessage } from './dom.js';
import { RunStream } from './run-stream.js';
import { AssistantTurn, storedAnswer, userMessage } from './turn-view.js';

const TITLE_LENGTH = 60;
const RELOAD_TRIES = 15;
const RELOAD_EVERY_MS = 2000;

/**
 * Wires the chat screen. `onConversation(id)` runs when a new conversation
 * gets its id (to update the address); `onChanged()` when the list may
 * have changed; `onStreaming(on)` while a run is followed.
 */
export function initChat({ onConversation, onChanged, onStreaming }) {
  const messages = byId('messages');
  const input = byId('message-input');
  const form = byId('composer');
  const send = byId('send-button');
  const stop = byId('stop-button');
  const agents = byId('agent-select');
  const title = byId('chat-title');
  const llmHint = byId('llm-unavailable');
  const notice = byId('chat-notice');
  const connection = byId('connection-status');
  const deleteButton = byId('delete-conversation');
  const deleteConfirm = byId('delete-confirm');
  let conversationId = null;
  let run = null;
  let view = 0; // bumps whenever the screen shows something else

  function setStreaming(on) {
    send.disabled = on;
    stop.hidden = !on;
    stop.disabled = false;
    if (!on) setMessage(connection, '');
    onStreaming(on);
  }

  function setTitle(text) {
    title.textContent = text.length > TITLE_LENGTH ? `${text.slice(0, TITLE_LENGTH)}…` : text;
  }

  /** Stops following the current run (the run itself goes on, stored by the server). */
  function detach() {
    view += 1;
    if (run) run.abort();
    run = null;
    setStreaming(false);
  }

  function clear() {
    messages.replaceChildren();
    setMessage(notice, '');
    llmHint.hidden = true;
    deleteConfirm.hidden = true;
  }

  async function loadAgents() {
    agents.replaceChildren(h('option', { value: '', title: 'triage for a new conversation, the last agent for a continued one' }, 'Automatic'));
    try {
      const list = await get('/api/v1/agents', { auth: false, tenant: false });
      agents.append(...list.map((a) => h('option', { value: a.name, title: a.description || null }, a.name)));
    } catch {
      // The automatic choice still works.
    }
  }

  function newChat() {
    detach();
    clear();
    conversationId = null;
    title.textContent = 'New chat';
    deleteButton.hidden = true;
  }

  function render(conversation) {
    const stored = conversation.messages || [];
    messages.replaceChildren(...stored.map((m) => (m.role === 'user'
      ? userMessage(m.content)
      : storedAnswer(m.content, m.role === 'assistant' ? null : m.role))));
    const first = stored.find((m) => m.role === 'user');
    setTitle(first ? first.content : conversation.conversation_id);
  }

  async function open(id) {
    detach();
    clear();
    const mine = view;
    conversationId = id;
    setTitle(id);
    deleteButton.hidden = false;
    let conversation;
    try {
      conversation = await get(apiPath('conversations', id));
    } catch (error) {
      if (mine !== view) return;
      deleteButton.hidden = true;
      setMessage(notice, error instanceof ApiError && error.status === 404
        ? 'This conversation does not exist, or it is not yours.'
        : describe(error));
      return;
    }
    if (mine !== view) return;
    render(conversation);
    const active = conversation.active_run;
    if (active && active.status === 'running' && active.run_id) {
      const turn = new AssistantTurn(conversation.agent_context?.active_agent);
      messages.append(turn.node);
      follow(turn, (stream) => stream.attach(active.run_id, 0), mine).catch(() => {});
    }
  }

  /** Polls the stored conversation until its answer is there (a run that could not be followed). */
  async function reloadWhenAnswered(id, mine) {
    for (let i = 0; i < RELOAD_TRIES; i += 1) {
      await new Promise((resolve) => { setTimeout(resolve, RELOAD_EVERY_MS); });
      if (mine !== view) return;
      try {
        const conversation = await get(apiPath('conversations', id));
        if (mine !== view) return;
        const last = conversation.messages?.[conversation.messages.length - 1];
        if (last && last.role !== 'user' && !conversation.active_run) {
          render(conversation);
          setMessage(notice, '');
          return;
        }
      } catch {
        // Still unreachable: try again.
      }
    }
  }

  async function follow(turn, begin, mine) {
    run = new RunStream({
      onEvent: (event) => {
        if (mine !== view) return;
        if (!conversationId && event.conversation_id) {
          conversationId = event.conversation_id;
          deleteButton.hidden = false;
          onConversation(conversationId);
        }
        turn.apply(event);
        messages.lastElementChild?.scrollIntoView({ block: 'end' });
      },
      onStatus: (status, detail) => {
        if (mine !== view) return;
        if (status === 'reconnecting') setMessage(connection, `Connection lost; reconnecting (attempt ${detail.attempt})…`);
        else if (status === 'cancelling') setMessage(connection, 'Stopping…');
        else setMessage(connection, '');
      },
    });
    setStreaming(true);
    let outcome;
    try {
      outcome = await begin(run);
    } finally {
      if (mine === view) {
        run = null;
        setStreaming(false);
      }
    }
    if (mine !== view) return outcome;
    if (outcome === 'stopped') {
      turn.finish('stopped', 'Stopped. The server may still finish this answer; it will then be in the conversation.');
    } else if (outcome === 'lost' || outcome === 'gone') {
      turn.finish('lost', 'The connection was lost. The server keeps the answer; it appears here when it is stored.');
      if (conversationId) reloadWhenAnswered(conversationId, mine);
    }
    onChanged();
    return outcome;
  }

  async function sendMessage() {
    const text = input.value.trim();
    if (!text || run) return;
    setMessage(notice, '');
    llmHint.hidden = true;
    const mine = view;
    const userNode = userMessage(text, { pending: true });
    const turn = new AssistantTurn(agents.value || null);
    messages.append(userNode, turn.node);
    if (!conversationId) setTitle(text);
    input.value = '';
    const body = { message: text };
    if (conversationId) body.conversation_id = conversationId;
    if (agents.value) body.agent_type = agents.value;
    try {
      await follow(turn, (stream) => stream.start(body), mine);
      userNode.dataset.state = 'sent';
    } catch (error) {
      if (mine !== view) return;
      // Refused before the run: nothing was stored. Give the text back.
      turn.node.remove();
      userNode.remove();
      if (!input.value) input.value = text;
      if (error instanceof ApiError && error.code === 'llm_unavailable') {
        llmHint.hidden = false;
      } else if (error && error.name === 'AbortError') {
        setMessage(notice, 'Stopped before the answer began. If the server had received the message, its answer will be in this conversation.');
      } else {
        setMessage(notice, describe(error));
      }
      input.focus();
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    sendMessage();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });
  stop.addEventListener('click', () => {
    if (!run) return;
    stop.disabled = true;
    run.stop().catch(() => run?.abort());
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && run && !stop.hidden && !byId('chat-view').hidden) {
      event.preventDefault();
      stop.click();
    }
  });
  deleteButton.addEventListener('click', () => {
    deleteConfirm.hidden = false;
    byId('cancel-delete').focus();
  });
  byId('cancel-delete').addEventListener('click', () => {
    deleteConfirm.hidden = true;
    deleteButton.focus();
  });
  byId('confirm-delete').addEventListener('click', async () => {
    const id = conversationId;
    if (!id) return;
    try {
      await del(apiPath('conversations', id));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) {
        setMessage(notice, describe(error));
        return;
      }
    }
    newChat();
    onConversation(null);
    onChanged();
    input.focus();
  });

  return {
    loadAgents,
    newChat,
    open,
    /** The open conversation's id (null for a new chat). */
    current: () => conversationId,
    /** True while a run is followed. */
    streaming: () => run !== null,
    focus: () => input.focus(),
  };
}
