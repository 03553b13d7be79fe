// Calls to the API: the bearer token, the chosen tenant (X-Tenant-Id), one
// retry after a 401 once the tokens are rotated, and the error envelope
// turned into an ApiError.

import { ApiError, errorFrom, networkError } from './errors.js';
import { currentAccessToken, expired, recoverFrom401 } from './session.js';

export { ApiError };

let tenantId = null;

/** Sends X-Tenant-Id with tenant-scoped calls from now on. */
export function setTenant(id) {
  tenantId = id;
}

/** The tenant chosen in the switcher. */
export function currentTenant() {
  return tenantId;
}

/**
 * Sends a request and returns the Response when it is 2xx; throws ApiError
 * otherwise (status 0 for the network). An abort rethrows the AbortError.
 */
export async function send(method, path, options = {}) {
  const { body, auth = true, tenant = true, signal, headers = {} } = options;
  const all = { Accept: 'application/json', ...headers };
  if (body !== undefined) all['Content-Type'] = 'application/json';
  const token = auth ? await currentAccessToken() : null;
  if (token) all.Authorization = `Bearer ${token}`;
  if (tenant && tenantId) all['X-Tenant-Id'] = tenantId;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if (error && error.name === 'AbortError') throw error;
    throw networkError();
  }
  if (response.status === 401 && auth && !options.retried) {
    if (await recoverFrom401(token)) return send(method, path, { ...options, retried: true });
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401 && auth) expired();
    throw error;
  }
  return response;
}

async function json(method, path, options) {
  const response = await send(method, path, options);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** GET, returning the parsed body. */
export function get(path, options = {}) {
  return json('GET', path, options);
}

/** GET, returning the parsed body and the Response (for headers such as X-Total-Count). */
export async function getWithHeaders(path, options = {}) {
  const response = await send('GET', path, options);
  return { body: await response.json(), headers: response.headers };
}

/** POST a JSON body, returning the parsed answer (null for 204). */
export function post(path, body, options = {}) {
  return json('POST', path, { ...options, body });
}

/** DELETE, returning null (204) or the parsed answer. */
export function del(path, options = {}) {
  return json('DELETE', path, options);
}

/** `/api/v1` plus `segments`, each percent-encoded. */
export function apiPath(...segments) {
  return `/api/v1/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}

/** A user-facing sentence for a failure, with the wait of a 429. */
export function describe(error) {
  if (!(error instanceof ApiError)) return 'Something went wrong; try again.';
  if (error.status === 429 && error.retryAfter) return `${error.message} (try again in ${error.retryAfter} s)`;
  return error.message;
}
