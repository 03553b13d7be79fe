//! The fake OpenAI server of the e2e tests as a process, for tools that
//! start the real server against it (`just fuzz`): prints its base URL
//! (for `OPENAI_BASE_URL`) on one line, then serves until killed.

use std::io::Write;
use std::time::Duration;

use agents_e2e::fake_openai::FakeOpenAi;

#[tokio::main]
async fn main() {
    let fake = FakeOpenAi::start(Duration::ZERO).await;
    println!("{}", fake.base_url);
    let _ = std::io::stdout().flush();
    // The fake serves on its own task; this one only keeps the process up.
    std::future::pending::<()>().await;
}
