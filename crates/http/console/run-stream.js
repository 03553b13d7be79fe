// Follows one chat run: reads its events once each (deduplicated by
// event_id), reattaches after a dropped connection through
// GET /chat/runs/{run_id}/events with Last-Event-ID, and stops it through
// POST /chat/runs/{run_id}/cancel.

import { ApiError, apiPath, send } from './api.js';
import { readEvents } from './sse.js';

/** A connection silent this long (keep-alives come every 15 s) is taken as dead. */
const SILENCE_MS = 45_000;
/** Reattach attempts before giving up, with backoff from the server's `retry:`. */
const MAX_ATTEMPTS = 8;
const MAX_BACKOFF_MS = 10_000;
/** How long a requested cancel may take before the client stops reading anyway. */
const CANCEL_GRACE_MS = 10_000;

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * Outcomes of `start`/`attach`: `finished` (a terminal event arrived),
 * `stopped` (the user stopped it and the server could not be told),
 * `lost` (the connection dropped and the run cannot be reattached),
 * `gone` (the run's events expired: the conversation holds its outcome).
 */
export class RunStream {
  /**
   * @param {{onEvent: (event: object) => void, onStatus?: (status: string, detail?: object) => void}} handlers
   *   `onEvent` gets each event once, in order; `onStatus` gets
   *   `connected`, `reconnecting` ({attempt}) and `cancelling`.
   */
  constructor({ onEvent, onStatus = () => {} }) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.runId = null;
    this.conversationId = null;
    this.lastEventId = 0;
    this.retryMs = 1000;
    this.finished = false;
    this.stopped = false;
    this.connection = null;
    this.cancelTimer = null;
  }

  /** Starts a turn (POST /chat/stream). Errors before the stream throw ApiError. */
  async start(body) {
    this.connection = new AbortController();
    const response = await send('POST', apiPath('chat', 'stream'), {
      body,
      signal: this.connection.signal,
      headers: { Accept: 'text/event-stream' },
    });
    this.onStatus('connected');
    await this.consume(response);
    return this.follow();
  }

  /** Attaches to a run already going (after a reload), after event `afterId`. */
  async attach(runId, afterId = 0) {
    this.runId = runId;
    this.lastEventId = afterId;
    return this.follow();
  }

  /**
   * Stops the run: asks the server to cancel it (the stream then ends with
   * the terminal `cancelled` event, the partial answer stored); without a
   * run id, or when the server cannot be told, stops reading instead.
   */
  async stop() {
    if (this.finished || this.stopped) return;
    if (this.runId) {
      try {
        await send('POST', apiPath('chat', 'runs', this.runId, 'cancel'));
        this.onStatus('cancelling');
        this.cancelTimer = setTimeout(() => this.abort(), CANCEL_GRACE_MS);
        return;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    }
    this.abort();
  }

  abort() {
    this.stopped = true;
    if (this.connection) this.connection.abort();
  }

  async follow() {
    let attempt = 0;
    while (!this.finished && !this.stopped) {
      if (!this.runId) return 'lost';
      attempt += 1;
      if (attempt > MAX_ATTEMPTS) return 'lost';
      this.onStatus('reconnecting', { attempt });
      await sleep(Math.min(this.retryMs * 2 ** (attempt - 1), MAX_BACKOFF_MS));
      if (this.stopped) break;
      this.connection = new AbortController();
      const headers = { Accept: 'text/event-stream' };
      if (this.lastEventId > 0) headers['Last-Event-ID'] = String(this.lastEventId);
      let response;
      try {
        response = await send('GET', apiPath('chat', 'runs', this.runId, 'events'), {
          headers,
          signal: this.connection.signal,
        });
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return 'gone';
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return 'lost';
        continue; // the network or the server is down for now: try again
      }
      this.onStatus('connected');
      const before = this.lastEventId;
      await this.consume(response);
      if (this.lastEventId > before) attempt = 0; // progress: a fresh series of attempts
    }
    clearTimeout(this.cancelTimer);
    return this.finished ? 'finished' : 'stopped';
  }

  /** Reads `response` until its terminal event, its end, a drop or a long silence. */
  async consume(response) {
    const connection = this.connection;
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => connection.abort(), SILENCE_MS);
    };
    arm();
    try {
      for await (const item of readEvents(response.body)) {
        arm();
        if (item.type === 'retry') this.retryMs = item.ms;
        if (item.type !== 'event') continue;
        let event;
        try {
          event = JSON.parse(item.data);
        } catch {
          continue;
        }
        if (this.accept(event, item.id)) this.onEvent(event);
        if (this.finished) break;
      }
    } catch {
      // A dropped connection or an abort: `follow` decides what comes next.
    } finally {
      clearTimeout(watchdog);
    }
  }

  /** Records the event's ids; false for one already seen. */
  accept(event, lineId) {
    const id = Number(event.event_id ?? lineId);
    if (Number.isInteger(id) && id > 0) {
      if (id <= this.lastEventId) return false;
      this.lastEventId = id;
    }
    if (typeof event.run_id === 'string') this.runId = event.run_id;
    if (typeof event.conversation_id === 'string') this.conversationId = event.conversation_id;
    if (event.is_complete === true) this.finished = true;
    return true;
  }
}
