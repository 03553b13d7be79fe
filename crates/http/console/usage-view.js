// Usage against the plan's limits (billing on). With billing off the
// billing routes are 404 and the screen stays hidden.

import { ApiError, apiPath, describe, get } from './api.js';
import { byId, formatTime, h } from './dom.js';

/** The tenant's usage this period, or null when billing is off (404). */
export async function loadUsage(tenantId) {
  try {
    return await get(apiPath('billing', 'tenants', tenantId, 'usage'), { tenant: false });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function limitText(value) {
  return value === null || value === undefined ? 'no limit' : Number(value).toLocaleString();
}

function row(feature) {
  const used = Number(feature.quantity) || 0;
  const hard = feature.hard_limit;
  let share = h('span', { class: 'muted' }, '—');
  if (hard !== null && hard !== undefined && hard > 0) {
    const meter = h('meter', {
      min: 0,
      max: hard,
      value: Math.min(used, hard),
      high: feature.soft_limit ?? hard,
      optimum: 0,
      'aria-label': `${feature.feature_key}: ${used} of ${hard}`,
    });
    share = h('span', { class: 'share' }, meter, ` ${Math.min(100, Math.round((used / hard) * 100))}%`);
  }
  const flags = [];
  if (feature.hard_limit_reached) flags.push(h('span', { class: 'badge danger' }, 'limit reached'));
  else if (feature.soft_limit_reached) flags.push(h('span', { class: 'badge warning' }, 'soft limit reached'));
  return h('tr', { dataset: { testid: 'usage-row', feature: feature.feature_key } },
    h('th', { scope: 'row' }, feature.feature_key),
    h('td', {}, used.toLocaleString()),
    h('td', {}, limitText(hard), feature.soft_limit != null ? h('span', { class: 'muted' }, ` (soft ${limitText(feature.soft_limit)})`) : null),
    h('td', {}, share, ...flags));
}

/** Shows `usage` (the body of GET .../usage), or loads it for `tenantId`. */
export async function showUsage(tenantId, usage = undefined) {
  const status = byId('usage-status');
  const body = byId('usage-body');
  status.textContent = 'Loading…';
  let data = usage;
  try {
    if (data === undefined) data = await loadUsage(tenantId);
  } catch (error) {
    status.textContent = describe(error);
    return;
  }
  if (!data) {
    status.textContent = 'Billing is not enabled on this server.';
    body.replaceChildren();
    return;
  }
  byId('usage-summary').textContent = `Plan ${data.plan_code}, period ${formatTime(data.period_start)} to ${formatTime(data.period_end)}.`;
  body.replaceChildren(...(data.features || []).map(row));
  status.textContent = (data.features || []).length ? '' : 'This plan has no metered features.';
}
