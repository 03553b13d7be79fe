// Messages in the chat log: the user's text, and an assistant turn that
// grows as events arrive (text, tool calls and results, handoffs, the end).

import { h } from './dom.js';
import { renderMarkdown } from './markdown.js';

const OUTCOMES = {
  cancelled: 'Stopped. The answer so far is kept.',
  interrupted: 'Interrupted: the server restarted before the answer was finished.',
};

/** A stored or just-sent message of the user. */
export function userMessage(text, { pending = false } = {}) {
  return h('li', {
    class: 'message user',
    dataset: { testid: 'message', role: 'user', state: pending ? 'sending' : 'sent' },
  },
  h('div', { class: 'who' }, 'You'),
  h('div', { class: 'content plain' }, text));
}

/** A stored answer. */
export function storedAnswer(text, agent) {
  const turn = new AssistantTurn(agent);
  turn.appendText(text);
  turn.settle('done');
  return turn.node;
}

/** An assistant turn; `node` is its list item. */
export class AssistantTurn {
  constructor(agent) {
    this.agentLabel = h('span', { class: 'agent' }, agent || 'assistant');
    this.body = h('div', { class: 'turn-body' });
    this.footer = h('div', { class: 'turn-footer', hidden: true });
    this.node = h('li', {
      class: 'message assistant',
      dataset: { testid: 'message', role: 'assistant', state: 'streaming' },
      'aria-busy': 'true',
    }, h('div', { class: 'who' }, this.agentLabel), this.body, this.footer);
    this.segment = null;
    this.text = '';
    this.pending = false;
  }

  /** Handles one stream event; true when it ended the turn. */
  apply(event) {
    if (event.agent_used && event.type !== 'handoff') this.agentLabel.textContent = event.agent_used;
    switch (event.type) {
      case 'delta':
        this.appendText(event.chunk || '');
        return false;
      case 'tool_call':
        this.note('tool-call', 'Tool call', `${event.tool?.name ?? 'tool'}(${argumentsText(event.tool?.arguments)})`);
        return false;
      case 'tool_result':
        this.note('tool-result', `Result of ${event.tool?.name ?? 'tool'}`, event.tool?.result_preview ?? '');
        return false;
      case 'handoff':
        this.note('handoff', 'Handoff', `${event.from} → ${event.to}`);
        this.agentLabel.textContent = event.to || this.agentLabel.textContent;
        return false;
      case 'done':
        this.finish('done', usageText(event.usage, event.model_used));
        return true;
      case 'error':
        if (OUTCOMES[event.error]) this.finish(event.error, OUTCOMES[event.error]);
        else this.fail(event.message || 'The answer failed.', event.error);
        return true;
      default:
        return Boolean(event.is_complete);
    }
  }

  /** Adds answer text (rendered at most once per frame while it streams). */
  appendText(chunk) {
    if (!chunk) return;
    if (!this.segment) {
      this.segment = { node: h('div', { class: 'content' }), text: '' };
      this.body.append(this.segment.node);
    }
    this.segment.text += chunk;
    this.text += chunk;
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => this.flush());
    }
  }

  flush() {
    this.pending = false;
    if (this.segment) renderMarkdown(this.segment.node, this.segment.text);
  }

  /** A tool call, tool result or handoff, in line with the text. */
  note(kind, label, text) {
    this.flush();
    this.segment = null; // text after this note starts a new block
    this.body.append(h('div', { class: `event ${kind}`, dataset: { testid: kind } },
      h('span', { class: 'label' }, label), ' ', h('code', {}, text)));
  }

  /** Ends the turn as `state` (done, cancelled, interrupted) with a footer line. */
  finish(state, footer) {
    this.flush();
    if (footer) {
      this.footer.textContent = footer;
      this.footer.hidden = false;
    }
    this.settle(state);
  }

  /** Ends the turn with an error shown in it. */
  fail(message, code) {
    this.flush();
    this.body.append(h('p', { class: 'event error', dataset: { testid: 'turn-error', error: code || 'error' }, role: 'alert' }, message));
    this.settle('error');
  }

  settle(state) {
    this.flush();
    this.node.dataset.state = state;
    this.node.removeAttribute('aria-busy');
    if (!this.text && state === 'done') this.body.append(h('p', { class: 'muted' }, '(no text)'));
  }
}

function argumentsText(value) {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function usageText(usage, model) {
  const parts = [];
  if (model) parts.push(model);
  if (usage && Number.isFinite(usage.total_tokens)) parts.push(`${usage.total_tokens} tokens`);
  return parts.join(' · ');
}
