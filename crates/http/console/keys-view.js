// API keys of a tenant (owners and admins): create (the key is shown once,
// with a copy button), list, revoke. Hidden for viewers and when the keys
// routes are absent (404).

import { ApiError, apiPath, del, describe, get, post } from './api.js';
import { byId, clearFormErrors, formatTime, h, setMessage, showFormErrors, whileBusy } from './dom.js';

const keysPath = (tenantId, ...rest) => apiPath('tenants', tenantId, 'api-keys', ...rest);

/** The tenant's keys, or null when the server has no keys routes (404). */
export async function loadKeys(tenantId) {
  try {
    return await get(keysPath(tenantId), { tenant: false });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function keyState(key) {
  if (key.revoked_at) return 'revoked';
  if (key.expires_at && new Date(key.expires_at).getTime() <= Date.now()) return 'expired';
  return 'active';
}

function optionalNumber(id) {
  const input = byId(id);
  if (input.value === '') return undefined;
  const value = Number(input.value);
  return Number.isFinite(value) ? value : input.value;
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (plain http on another host): select the text for Ctrl+C.
    const field = byId('new-key-value');
    field.focus();
    field.select();
    return false;
  }
}

/** Wires the screen; `show(tenantId, keys?)` renders it. */
export function initKeys() {
  const form = byId('key-form');
  const body = byId('keys-body');
  const status = byId('keys-status');
  const panel = byId('new-key');
  let tenantId = null;

  function row(key) {
    const state = keyState(key);
    const actions = h('td', { class: 'actions' });
    if (state !== 'revoked') {
      const revoke = h('button', { type: 'button', class: 'danger', dataset: { testid: 'revoke-key' } }, 'Revoke');
      revoke.addEventListener('click', () => {
        const confirm = h('span', { class: 'confirm' },
          h('button', { type: 'button', class: 'danger', dataset: { testid: 'confirm-revoke' }, onclick: () => revokeKey(key, confirm) }, 'Revoke key'),
          h('button', { type: 'button', onclick: () => confirm.replaceWith(revoke) }, 'Cancel'));
        revoke.replaceWith(confirm);
        confirm.lastElementChild.focus();
      });
      actions.append(revoke);
    }
    const usage = key.usage ? `${key.usage.messages ?? 0} messages, ${key.usage.tokens ?? 0} tokens` : '';
    return h('tr', { dataset: { testid: 'key-row', keyId: key.id, state } },
      h('th', { scope: 'row' }, key.name),
      h('td', {}, h('code', {}, key.prefix || '')),
      h('td', {}, (key.scopes || []).join(', ')),
      h('td', {}, formatTime(key.created_at)),
      h('td', {}, key.last_used_at ? formatTime(key.last_used_at) : 'never'),
      h('td', {}, usage),
      h('td', {}, state === 'expired' ? `expired ${formatTime(key.expires_at)}` : state),
      actions);
  }

  async function revokeKey(key, confirm) {
    try {
      await del(keysPath(tenantId, key.id), { tenant: false });
    } catch (error) {
      confirm.replaceWith(h('span', { class: 'error', role: 'alert' }, describe(error)));
      return;
    }
    await show(tenantId);
  }

  async function show(id, keys = undefined) {
    tenantId = id;
    let list = keys;
    status.textContent = 'Loading…';
    try {
      if (list === undefined) list = await loadKeys(id);
    } catch (error) {
      status.textContent = describe(error);
      return;
    }
    if (!list) {
      body.replaceChildren();
      status.textContent = 'This server does not offer API keys.';
      return;
    }
    body.replaceChildren(...list.map(row));
    status.textContent = list.length ? '' : 'No keys yet.';
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const request = {
      name: byId('key-name').value.trim(),
      scopes: [...form.querySelectorAll('input[name="scopes"]:checked')].map((input) => input.value),
    };
    const expires = byId('key-expires').value;
    if (expires) request.expires_at = `${expires}T23:59:59Z`;
    for (const [field, id] of [
      ['rate_limit_per_minute', 'key-rate-limit'],
      ['monthly_message_limit', 'key-monthly-messages'],
      ['monthly_token_limit', 'key-monthly-tokens'],
    ]) {
      const value = optionalNumber(id);
      if (value !== undefined) request[field] = value;
    }
    let created;
    try {
      created = await whileBusy(byId('create-key'), post(keysPath(tenantId), request, { tenant: false }));
    } catch (error) {
      showFormErrors(form, error instanceof ApiError ? error : new ApiError(0, 'error', describe(error)), describe(error));
      return;
    }
    form.reset();
    byId('new-key-value').value = created.key;
    setMessage(byId('copy-status'), '');
    panel.hidden = false;
    byId('copy-key').focus();
    await show(tenantId);
  });

  byId('copy-key').addEventListener('click', async () => {
    const copied = await copy(byId('new-key-value').value);
    byId('copy-status').textContent = copied ? 'Copied to the clipboard.' : 'Select the key and copy it (Ctrl+C).';
  });
  byId('dismiss-key').addEventListener('click', () => {
    // The key is not kept anywhere once the panel closes.
    byId('new-key-value').value = '';
    panel.hidden = true;
    byId('key-name').focus();
  });

  return {
    show,
    /** Forgets a key still on screen (sign-out, tenant switch). */
    reset() {
      byId('new-key-value').value = '';
      panel.hidden = true;
      body.replaceChildren();
      clearFormErrors(form);
    },
  };
}
