// Sign in and create an account. Errors of the API's envelope appear next
// to the field that `details[].field` names, others above the form.

import { ApiError, describe, post } from './api.js';
import { byId, clearFormErrors, setMessage, showFormErrors, whileBusy } from './dom.js';
import { signIn } from './session.js';

/** Wires both forms; `onSignedIn()` runs after a successful sign-in. */
export function initAuth({ onSignedIn }) {
  const signinForm = byId('signin-form');
  const signupForm = byId('signup-form');
  const tabs = { signin: byId('tab-signin'), signup: byId('tab-signup') };

  const select = (which) => {
    const signup = which === 'signup';
    signinForm.hidden = signup;
    signupForm.hidden = !signup;
    tabs.signin.setAttribute('aria-selected', String(!signup));
    tabs.signup.setAttribute('aria-selected', String(signup));
    byId(signup ? 'signup-username' : 'signin-username').focus();
  };
  tabs.signin.addEventListener('click', () => select('signin'));
  tabs.signup.addEventListener('click', () => select('signup'));
  for (const tab of Object.values(tabs)) {
    tab.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
        (tab === tabs.signin ? tabs.signup : tabs.signin).click();
      }
    });
  }

  signinForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(signinForm);
    const username = byId('signin-username').value.trim();
    const password = byId('signin-password').value;
    try {
      await whileBusy(byId('signin-submit'), signIn(username, password));
    } catch (error) {
      showFormErrors(signinForm, error instanceof ApiError ? error : new ApiError(0, 'error', describe(error)), describe(error));
      return;
    }
    byId('signin-password').value = '';
    await onSignedIn();
  });

  signupForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(signupForm);
    const body = {
      username: byId('signup-username').value.trim(),
      email: byId('signup-email').value.trim(),
      password: byId('signup-password').value,
    };
    const displayName = byId('signup-display-name').value.trim();
    if (displayName) body.display_name = displayName;
    const create = async () => {
      await post('/api/v1/auth/register', body, { auth: false, tenant: false });
      await signIn(body.username, body.password);
    };
    try {
      await whileBusy(byId('signup-submit'), create());
    } catch (error) {
      showFormErrors(signupForm, error instanceof ApiError ? error : new ApiError(0, 'error', describe(error)), describe(error));
      return;
    }
    signupForm.reset();
    await onSignedIn();
  });

  return {
    /** Shows the forms, with `notice` (why the user is here) when given. */
    show(notice) {
      setMessage(byId('auth-notice'), notice || '');
      clearFormErrors(signinForm);
      clearFormErrors(signupForm);
      select('signin');
    },
  };
}
