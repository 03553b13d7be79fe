//! Server-sent events decoding for the streamed Chat Completions body:
//! bytes in, the `data` of each complete event out. Network chunks may split
//! anywhere (inside a line, a field name, a UTF-8 character), so bytes are
//! buffered until a whole line is there and decoded only then.

/// Incremental SSE decoder.
#[derive(Debug, Default)]
pub(super) struct SseDecoder {
    buffer: Vec<u8>,
    data: Vec<String>,
}

impl SseDecoder {
    /// Feeds one network chunk; returns the data of every event it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(offset) = self.buffer[start..].iter().position(|b| *b == b'\n') {
            let end = start + offset;
            let line = &self.buffer[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = String::from_utf8_lossy(line).into_owned();
            start = end + 1;
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
        }
        self.buffer.drain(..start);
        events
    }

    /// The body ended: an event missing its final blank line still counts.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buffer);
        let rest = String::from_utf8_lossy(&rest).into_owned();
        let rest = rest.trim_end_matches('\r');
        if !rest.is_empty() {
            self.line(rest);
        }
        self.dispatch()
    }

    fn line(&mut self, line: &str) -> Option<String> {
        if line.is_empty() {
            return self.dispatch();
        }
        // Comments (`: keep-alive`) and the fields we do not use (`event`,
        // `id`, `retry`) are skipped.
        if let Some(value) = line.strip_prefix("data:") {
            self.data
                .push(value.strip_prefix(' ').unwrap_or(value).to_owned());
        } else if line == "data" {
            self.data.push(String::new());
        }
        None
    }

    fn dispatch(&mut self) -> Option<String> {
        if self.data.is_empty() {
            return None;
        }
        let data = self.data.join("\n");
        self.data.clear();
        Some(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "data: {\"a\":\"h\u{e9}llo\"}\n\n: keep-alive\n\ndata: [DONE]\n\n";

    #[test]
    fn events_survive_every_split_point() {
        let bytes = BODY.as_bytes();
        for cut in 0..bytes.len() {
            let mut decoder = SseDecoder::default();
            let mut events = decoder.feed(&bytes[..cut]);
            events.extend(decoder.feed(&bytes[cut..]));
            assert_eq!(
                events,
                ["{\"a\":\"h\u{e9}llo\"}", "[DONE]"],
                "split at {cut}"
            );
            assert_eq!(decoder.finish(), None);
        }
    }

    #[test]
    fn crlf_multiline_and_unterminated_events_are_read() {
        let mut decoder = SseDecoder::default();
        let events = decoder.feed(b"event: x\r\ndata: one\r\ndata:two\r\n\r\ndata: last");
        assert_eq!(events, ["one\ntwo"]);
        assert_eq!(decoder.finish(), Some("last".to_owned()));
    }
}
