//! The console's files, compiled into the binary, and the content hash that
//! names the directory they are served from.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// One embedded file: name, content type, bytes.
pub struct Asset {
    /// File name under the hashed directory (`app.js`).
    pub name: &'static str,
    /// `Content-Type` it is served with.
    pub content_type: &'static str,
    /// The file.
    pub bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/", $name)),
        }
    };
}

/// Every file the page loads (a test checks this list against the folder).
pub const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("errors.js", JS),
    asset!("session.js", JS),
    asset!("sse.js", JS),
    asset!("run-stream.js", JS),
    asset!("markdown.js", JS),
    asset!("dom.js", JS),
    asset!("auth-view.js", JS),
    asset!("chat-view.js", JS),
    asset!("turn-view.js", JS),
    asset!("conversations-view.js", JS),
    asset!("usage-view.js", JS),
    asset!("keys-view.js", JS),
];

/// The page template; `{{assets}}` becomes the hashed directory.
const PAGE_TEMPLATE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/index.html"));

/// The console as served: the hashed asset directory and the page.
pub struct Console {
    /// First 16 hex digits of the SHA-256 of every asset (names and bytes).
    pub hash: String,
    /// The page, referencing `/app/assets/<hash>/`.
    pub page: String,
    /// Strong validator of the page.
    pub page_etag: String,
}

/// Built once, on the first request, and shared by every worker.
pub static CONSOLE: LazyLock<Console> = LazyLock::new(Console::build);

fn short_hex(digest: &[u8]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

impl Console {
    fn build() -> Self {
        let mut hasher = Sha256::new();
        for asset in ASSETS {
            // Name and length first, so moving bytes between files changes the hash.
            hasher.update(asset.name.as_bytes());
            hasher.update((asset.bytes.len() as u64).to_le_bytes());
            hasher.update(asset.bytes);
        }
        let hash = short_hex(&hasher.finalize());
        let page = PAGE_TEMPLATE.replace("{{assets}}", &format!("/app/assets/{hash}"));
        let page_etag = format!("\"{}\"", short_hex(&Sha256::digest(page.as_bytes())));
        Self {
            hash,
            page,
            page_etag,
        }
    }

    /// The asset named `name` when `hash` is the current one.
    pub fn asset(&self, hash: &str, name: &str) -> Option<&'static Asset> {
        if hash != self.hash {
            return None;
        }
        ASSETS.iter().find(|a| a.name == name)
    }
}
