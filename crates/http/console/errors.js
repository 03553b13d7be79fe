// The API's error envelope as a JavaScript error.

/** A failed API call: HTTP status, the envelope's stable `error` name, its message and details. */
export class ApiError extends Error {
  constructor(status, code, message, details = null, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  /** `details[]` entries that name a field (422 `validation_error`). */
  get fieldErrors() {
    if (!Array.isArray(this.details)) return [];
    return this.details.filter((d) => d && typeof d.field === 'string' && typeof d.message === 'string');
  }
}

/** The network failed before any answer. */
export function networkError() {
  return new ApiError(0, 'network_error', 'The server could not be reached; check the connection and try again.');
}

/** Reads the envelope of a non-2xx `response` (any body that is not one gets a generic message). */
export async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: a proxy's page, say.
  }
  const retryAfter = response.headers.get('Retry-After');
  if (body && typeof body.error === 'string') {
    const message = typeof body.message === 'string' && body.message ? body.message : `The server answered ${response.status}.`;
    return new ApiError(response.status, body.error, message, body.details ?? null, retryAfter);
  }
  return new ApiError(response.status, `http_${response.status}`, `The server answered ${response.status}.`, null, retryAfter);
}
