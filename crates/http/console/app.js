// The console's entry: resumes or starts a session, the tenant switcher,
// and the client-side routes (/app, /app/c/{conversation}, /app/usage,
// /app/keys), all served the same page by the server.

import { describe, get, setTenant } from './api.js';
import { initAuth } from './auth-view.js';
import { initChat } from './chat-view.js';
import { initConversations } from './conversations-view.js';
import { byId, h, setMessage } from './dom.js';
import { initKeys, loadKeys } from './keys-view.js';
import { canResume, onSignedOut, refresh, signOut } from './session.js';
import { loadUsage, showUsage } from './usage-view.js';

const TENANT_KEY = 'agents.tenant';
const MANAGERS = new Set(['owner', 'admin']);
const VIEWS = ['chat-view', 'usage-view', 'keys-view'];

const state = { tenants: [], tenant: null };
let ready = false;

const auth = initAuth({ onSignedIn: () => enter() });
const conversations = initConversations({ onOpen: (id) => navigate(`/app/c/${encodeURIComponent(id)}`) });
const keys = initKeys();
const chat = initChat({
  onConversation: (id) => {
    // A new conversation got its id, or the open one was deleted: the address follows.
    history.replaceState(null, '', id ? `/app/c/${encodeURIComponent(id)}` : '/app');
    conversations.select(id);
  },
  onChanged: () => conversations.refresh(),
  onStreaming: (on) => { byId('tenant-select').disabled = on; },
});

function showScreen(which) {
  byId('boot').hidden = true;
  byId('auth-screen').hidden = which !== 'auth';
  byId('app-screen').hidden = which !== 'app';
  if (!ready) {
    ready = true;
    performance.mark('console-ready');
  }
}

function showView(id) {
  for (const view of VIEWS) byId(view).hidden = view !== id;
  for (const [link, view] of [['nav-chat', 'chat-view'], ['nav-usage', 'usage-view'], ['nav-keys', 'keys-view']]) {
    if (view === id) byId(link).setAttribute('aria-current', 'page');
    else byId(link).removeAttribute('aria-current');
  }
  closeSidebar();
}

/** Shows the screen of the current address. */
function route() {
  if (!state.tenant) return;
  const path = location.pathname.replace(/\/+$/, '') || '/app';
  if (path === '/app/usage' && !byId('nav-usage').hidden) {
    showView('usage-view');
    byId('usage-title').focus();
    showUsage(state.tenant.id);
    return;
  }
  if (path === '/app/keys' && !byId('nav-keys').hidden) {
    showView('keys-view');
    byId('keys-title').focus();
    keys.show(state.tenant.id);
    return;
  }
  showView('chat-view');
  const open = path.startsWith('/app/c/') ? safeDecode(path.slice('/app/c/'.length)) : null;
  if (open) {
    if (chat.current() !== open) chat.open(open);
    conversations.select(open);
  } else {
    if (path !== '/app') history.replaceState(null, '', '/app');
    if (chat.current() !== null || chat.streaming()) chat.newChat();
    conversations.select(null);
    chat.focus();
  }
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function navigate(path) {
  if (path !== location.pathname) history.pushState(null, '', path);
  route();
}

/** Probes which screens this tenant has: usage (billing on), keys (owner/admin, keys routes present). */
async function probeScreens(tenant) {
  const usageNav = byId('nav-usage');
  const keysNav = byId('nav-keys');
  const usage = loadUsage(tenant.id).then((data) => data !== null, () => false);
  const keysShown = MANAGERS.has(tenant.role)
    ? loadKeys(tenant.id).then((list) => list !== null, () => true)
    : Promise.resolve(false);
  const [hasUsage, hasKeys] = await Promise.all([usage, keysShown]);
  if (state.tenant !== tenant) return;
  usageNav.hidden = !hasUsage;
  keysNav.hidden = !hasKeys;
  document.body.dataset.screensFor = tenant.id; // which tenant the menu is settled for
  const path = location.pathname;
  if ((path.startsWith('/app/usage') && !hasUsage) || (path.startsWith('/app/keys') && !hasKeys)) navigate('/app');
}

async function selectTenant(id, { keepRoute = false } = {}) {
  const tenant = state.tenants.find((t) => t.id === id) || state.tenants[0];
  state.tenant = tenant;
  setTenant(tenant.id);
  try {
    sessionStorage.setItem(TENANT_KEY, tenant.id);
  } catch {
    // Without storage the first tenant is chosen after a reload.
  }
  byId('tenant-select').value = tenant.id;
  byId('nav-usage').hidden = true;
  byId('nav-keys').hidden = true;
  keys.reset();
  conversations.reset();
  // Usage and keys wait for the probe that says whether they exist here.
  const path = location.pathname;
  const waits = keepRoute && (path.startsWith('/app/usage') || path.startsWith('/app/keys'));
  if (!keepRoute) navigate('/app');
  else if (!waits) route();
  await probeScreens(tenant);
  if (waits && state.tenant === tenant) route();
}

/** After sign-in or a resumed session: who am I, which tenants, then the screen of the address. */
async function enter() {
  let me;
  try {
    me = await get('/api/v1/auth/me', { tenant: false });
  } catch (error) {
    showScreen('auth');
    auth.show(describe(error));
    return;
  }
  state.tenants = me.data.tenants || [];
  byId('user-name').textContent = me.data.username;
  if (state.tenants.length === 0) {
    showScreen('auth');
    auth.show('This account belongs to no tenant; ask an owner to add you.');
    return;
  }
  byId('tenant-select').replaceChildren(...state.tenants.map((t) => h('option', { value: t.id }, `${t.name} (${t.role})`)));
  let stored = null;
  try {
    stored = sessionStorage.getItem(TENANT_KEY);
  } catch {
    // No storage: the first tenant.
  }
  showScreen('app');
  chat.loadAgents();
  await selectTenant(stored, { keepRoute: true });
}

function leave(message) {
  chat.newChat();
  keys.reset();
  state.tenant = null;
  setTenant(null);
  try {
    sessionStorage.removeItem(TENANT_KEY);
  } catch {
    // Nothing kept.
  }
  history.replaceState(null, '', '/app');
  showScreen('auth');
  auth.show(message);
}

function closeSidebar() {
  byId('sidebar').classList.remove('open');
  byId('toggle-sidebar').setAttribute('aria-expanded', 'false');
}

function wire() {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-nav]');
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(link.getAttribute('href'));
  });
  window.addEventListener('popstate', route);
  byId('tenant-select').addEventListener('change', (event) => selectTenant(event.target.value));
  byId('new-chat').addEventListener('click', () => navigate('/app'));
  byId('signout').addEventListener('click', async () => {
    await signOut();
    leave('You are signed out.');
  });
  byId('toggle-sidebar').addEventListener('click', () => {
    const open = byId('sidebar').classList.toggle('open');
    byId('toggle-sidebar').setAttribute('aria-expanded', String(open));
    if (open) byId('conversation-search').focus();
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && byId('sidebar').classList.contains('open')) closeSidebar();
  });
  onSignedOut((message) => leave(message));
}

async function boot() {
  wire();
  if (canResume()) {
    try {
      await refresh();
      await enter();
      return;
    } catch (error) {
      if (!byId('auth-screen').hidden) return; // the session ended: the sign-in form says so
      showScreen('auth');
      auth.show(describe(error));
      return;
    }
  }
  showScreen('auth');
  auth.show();
}

boot().catch((error) => {
  showScreen('auth');
  setMessage(byId('auth-notice'), `The console failed to start: ${error.message}`);
});
