//! Rows read back into domain types, with the column lists that go with them.

use agents_domain::account::{Tenant, User};
use agents_domain::conversation::{
    Conversation, ConversationKey, MessageContent, MessageRole, StoredMessage,
};
use agents_domain::{StoreError, TenantId, UserId};
use sea_orm::QueryResult;
use time::OffsetDateTime;
use uuid::Uuid;

use super::support::get;

/// Columns of a conversation header (unqualified; the queries use no alias or `c`).
pub(crate) const CONVERSATION_COLUMNS: &str = "id, conversation_key, tenant_id, user_id, agent_entrypoint, \
     active_agent, message_count, total_tokens_prompt, total_tokens_completion, handoff_count, \
     last_message_at, created_at, updated_at";

/// Columns of a message.
pub(crate) const MESSAGE_COLUMNS: &str = "m.position, m.role, m.agent_type, m.content, m.token_count_prompt, \
     m.token_count_completion, m.latency_ms, m.created_at";

/// Columns of a user as the domain sees it. Users the Python service wrote
/// have no username or email: their external id stands in for the username.
pub(crate) const USER_COLUMNS: &str = "u.id, COALESCE(u.username, u.external_id) AS username, \
     COALESCE(u.email, '') AS email, u.display_name, u.is_active, u.tenant_id, u.created_at";

/// Reads a conversation header.
pub(crate) fn conversation(row: &QueryResult) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: get(row, "id")?,
        key: ConversationKey::from_stored(get(row, "conversation_key")?),
        tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
        user_id: get::<Option<Uuid>>(row, "user_id")?.map(UserId::from_uuid),
        agent_entrypoint: get(row, "agent_entrypoint")?,
        active_agent: get(row, "active_agent")?,
        message_count: get(row, "message_count")?,
        total_tokens_prompt: get(row, "total_tokens_prompt")?,
        total_tokens_completion: get(row, "total_tokens_completion")?,
        handoff_count: get(row, "handoff_count")?,
        last_message_at: get(row, "last_message_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Reads a message; `content` as the Python service wrote it (`{"text": ...}`) or ours.
pub(crate) fn message(row: &QueryResult) -> Result<StoredMessage, StoreError> {
    let role: String = get(row, "role")?;
    let content: serde_json::Value = get(row, "content")?;
    Ok(StoredMessage {
        position: get(row, "position")?,
        role: MessageRole::from_stored(&role),
        agent_type: get(row, "agent_type")?,
        content: MessageContent::from_json(&content),
        token_count_prompt: get(row, "token_count_prompt")?,
        token_count_completion: get(row, "token_count_completion")?,
        latency_ms: get(row, "latency_ms")?,
        created_at: get(row, "created_at")?,
    })
}

/// Reads a user selected with [`USER_COLUMNS`].
pub(crate) fn user(row: &QueryResult) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::from_uuid(get(row, "id")?),
        username: get(row, "username")?,
        email: get(row, "email")?,
        display_name: get(row, "display_name")?,
        is_active: get(row, "is_active")?,
        home_tenant_id: get::<Option<Uuid>>(row, "tenant_id")?.map(TenantId::from_uuid),
        created_at: get(row, "created_at")?,
    })
}

/// Reads a tenant from columns `{prefix}id`, `{prefix}slug`, `{prefix}name`,
/// `{prefix}created_at`.
pub(crate) fn tenant(row: &QueryResult, prefix: &str) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: TenantId::from_uuid(get(row, &format!("{prefix}id"))?),
        slug: get(row, &format!("{prefix}slug"))?,
        name: get(row, &format!("{prefix}name"))?,
        created_at: get::<OffsetDateTime>(row, &format!("{prefix}created_at"))?,
    })
}

/// The first `max` characters of `text`.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Up to 120 characters of `text` around the first match of `query`.
pub(crate) fn preview(text: &str, query: &str) -> String {
    let lower = text.to_lowercase();
    let chars: Vec<char> = text.chars().collect();
    let start = lower
        .find(&query.to_lowercase())
        .map(|byte| lower[..byte].chars().count())
        .filter(|_| lower.chars().count() == chars.len())
        .unwrap_or(0);
    let from = start.saturating_sub(40);
    chars[from..].iter().take(120).collect()
}
