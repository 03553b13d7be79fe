// Tokens: the access token lives in this module's memory only; the refresh
// token in sessionStorage (this tab, until it closes), rotated through
// /auth/refresh before the access token expires and after a 401. Refresh
// tokens are single-use, so at most one refresh is in flight at a time.

import { ApiError, errorFrom, networkError } from './errors.js';

const REFRESH_KEY = 'agents.refresh_token';
/** Refresh this long before expiry, at most (a fifth of the lifetime for short ones). */
const REFRESH_LEAD_MS = 60_000;
/** After a refresh that failed on the network, try again this much later. */
const RETRY_MS = 10_000;

let accessToken = null;
let expiresAt = 0;
let inflight = null;
let timer = null;
const signedOutListeners = new Set();

function storedRefreshToken() {
  try {
    return sessionStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function clear() {
  accessToken = null;
  expiresAt = 0;
  clearTimeout(timer);
  timer = null;
  try {
    sessionStorage.removeItem(REFRESH_KEY);
  } catch {
    // Storage disabled: nothing was kept.
  }
}

function schedule(delayMs) {
  clearTimeout(timer);
  timer = setTimeout(() => {
    refresh().catch((error) => {
      if (error.status !== 401) schedule(RETRY_MS);
    });
  }, Math.max(1_000, delayMs));
}

function store(pair) {
  accessToken = pair.access_token;
  const lifetimeMs = Math.max(1, Number(pair.expires_in) || 60) * 1000;
  expiresAt = Date.now() + lifetimeMs;
  try {
    sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  } catch {
    // Without storage the session lasts as long as the page.
  }
  schedule(lifetimeMs - Math.min(REFRESH_LEAD_MS, lifetimeMs / 5));
}

function signedOut(message) {
  const hadSession = accessToken !== null || storedRefreshToken() !== null;
  clear();
  if (hadSession) for (const listener of signedOutListeners) listener(message);
}

async function post(path, body) {
  try {
    return await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw networkError();
  }
}

async function doRefresh() {
  const refreshToken = storedRefreshToken();
  if (!refreshToken) throw new ApiError(401, 'unauthorized', 'Please sign in.');
  const response = await post('/api/v1/auth/refresh', { refresh_token: refreshToken });
  if (response.ok) {
    store(await response.json());
    return accessToken;
  }
  const error = await errorFrom(response);
  // A refused token never works again; anything else (5xx, 429) may pass later.
  if (response.status === 401 || response.status === 422 || response.status === 400) {
    signedOut('Your session has ended; please sign in again.');
  }
  throw error;
}

/** Rotates the tokens; concurrent callers share the one request in flight. */
export function refresh() {
  if (!inflight) inflight = doRefresh().finally(() => { inflight = null; });
  return inflight;
}

/** True when this tab holds a refresh token (a reload can resume the session). */
export function canResume() {
  return storedRefreshToken() !== null;
}

/** Signs in with a username (or email) and password. Throws ApiError. */
export async function signIn(username, password) {
  const response = await post('/api/v1/auth/token', { username, password });
  if (!response.ok) throw await errorFrom(response);
  store(await response.json());
}

/** A usable access token (refreshed first when it is about to expire), or null. */
export async function currentAccessToken() {
  if (accessToken && Date.now() < expiresAt - 5_000) return accessToken;
  if (!storedRefreshToken()) return accessToken;
  try {
    return await refresh();
  } catch {
    return accessToken;
  }
}

/**
 * After a 401 to a request sent with `usedToken`: refreshes unless another
 * caller already did. True when the request is worth sending again.
 */
export async function recoverFrom401(usedToken) {
  if (accessToken && accessToken !== usedToken) return true;
  try {
    await refresh();
    return true;
  } catch {
    return false;
  }
}

/** The server refused the session (a 401 that a refresh did not cure). */
export function expired() {
  signedOut('Your session has ended; please sign in again.');
}

/** Revokes the refresh token's login on the server and forgets both tokens. */
export async function signOut() {
  const refreshToken = storedRefreshToken();
  clear();
  if (refreshToken) {
    try {
      await post('/api/v1/auth/logout', { refresh_token: refreshToken });
    } catch {
      // Offline: the token stays valid on the server until it expires.
    }
  }
}

/** Calls `listener(message)` when the session ends without the user asking. */
export function onSignedOut(listener) {
  signedOutListeners.add(listener);
}

// Timers sleep in background tabs: check the token when the tab is shown again.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && storedRefreshToken() && Date.now() > expiresAt - REFRESH_LEAD_MS) {
    refresh().catch(() => {});
  }
});
