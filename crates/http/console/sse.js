// A reader of `text/event-stream` bodies, for fetch (EventSource cannot
// send the Authorization header). It follows the HTML standard's parsing
// rules: lines end in CR, LF or CRLF; a blank line dispatches the event;
// `data:` lines join with "\n"; one space after the colon is dropped;
// `id:` sets the last event id; `retry:` (digits only) sets the reconnection
// delay; lines starting with `:` are comments (keep-alives).

/**
 * Yields `{type: 'event', id, event, data}` per event, `{type: 'retry', ms}`
 * per valid `retry:` line and `{type: 'comment', text}` per comment line.
 * Breaking out of the loop cancels the body (closes the connection).
 */
export async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let data = [];
  let event = '';
  let lastId = null;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return; // an event without its blank line is dropped, as the standard says
      buffer += value;
      let start = 0;
      for (;;) {
        const end = lineEnd(buffer, start);
        if (end === -1) break;
        // A CR at the very end may be the first half of a CRLF: wait for more.
        if (buffer[end] === '\r' && end + 1 === buffer.length) break;
        const line = buffer.slice(start, end);
        start = end + (buffer[end] === '\r' && buffer[end + 1] === '\n' ? 2 : 1);
        if (line === '') {
          if (data.length > 0) yield { type: 'event', id: lastId, event: event || 'message', data: data.join('\n') };
          data = [];
          event = '';
          continue;
        }
        if (line.startsWith(':')) {
          yield { type: 'comment', text: line.slice(1).trim() };
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) lastId = value;
        else if (field === 'retry' && /^\d+$/.test(value)) yield { type: 'retry', ms: Number(value) };
      }
      buffer = buffer.slice(start);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function lineEnd(text, from) {
  for (let i = from; i < text.length; i += 1) {
    const c = text[i];
    if (c === '\n' || c === '\r') return i;
  }
  return -1;
}
