// DOM helpers. Text always goes in through textContent or text nodes, never
// as markup.

/** The element with `id` (the page's structure is static; ids are stable test hooks). */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

/**
 * `h('li', {class: 'x', dataset: {role: 'user'}, onclick: fn}, 'text', child)`:
 * attributes are set as attributes (never event-handler strings), children
 * appended as nodes or text.
 */
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name.startsWith('on')) throw new Error(`handler ${name} must be a function`);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Shows `node` with `text`, or hides it when `text` is empty. */
export function setMessage(node, text) {
  node.textContent = text || '';
  node.hidden = !text;
}

/** Hides every error of `form` and clears aria-invalid. */
export function clearFormErrors(form) {
  for (const node of form.querySelectorAll('[data-field-error], [data-testid="form-error"]')) setMessage(node, '');
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

/**
 * Shows an ApiError on `form`: each `details[].field` next to its field
 * (`data-field-error="field"`, or the first path segment for nested ones),
 * the message and unplaced details at the top.
 */
export function showFormErrors(form, error, fallback) {
  clearFormErrors(form);
  const unplaced = [];
  for (const detail of error.fieldErrors || []) {
    const name = String(detail.field).split('.')[0];
    const slot = form.querySelector(`[data-field-error="${CSS.escape(name)}"]`);
    if (!slot) {
      unplaced.push(`${detail.field}: ${detail.message}`);
      continue;
    }
    const text = slot.hidden ? detail.message : `${slot.textContent} ${detail.message}`;
    setMessage(slot, text);
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      if (!slot.id) slot.id = `${form.id}-${name}-error`;
      input.setAttribute('aria-errormessage', slot.id);
    }
  }
  const placed = (error.fieldErrors || []).length - unplaced.length;
  const top = form.querySelector('[data-testid="form-error"]');
  if (top && (placed === 0 || unplaced.length > 0)) {
    setMessage(top, [fallback || error.message, ...unplaced].join(' '));
  }
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
}

/** Disables `button` while `promise` runs. */
export async function whileBusy(button, promise) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await promise;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A local date and time for an RFC 3339 timestamp (empty when absent). */
export function formatTime(value) {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}
