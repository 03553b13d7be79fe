//! The paged list, search and per-agent usage: read-only queries, paged and
//! filtered in SQL.

use agents_domain::conversation::{
    AgentUsage, ConversationHit, ConversationKey, ConversationScope, ConversationSummary,
    MessageContent, Page, PageRequest,
};
use agents_domain::{StoreError, TenantId};
use sea_orm::{DatabaseConnection, DbBackend, Value};
use time::OffsetDateTime;

use super::{principal, visible};
use crate::sql::rows::{preview, truncate_chars};
use crate::sql::support::{all, get, one, stmt, uuid};

/// Longest `last_message` in a list line.
const LAST_MESSAGE_CHARS: usize = 120;

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The text of a message's `content`, in SQL.
fn text_of(backend: DbBackend, alias: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("({alias}content ->> 'text')"),
        _ => format!("json_extract({alias}content, '$.text')"),
    }
}

/// One page, newest `updated_at` first, plus the total. The last message is
/// read only for the rows of the page (the outer query runs after LIMIT).
pub(super) async fn list(
    db: &DatabaseConnection,
    scope: ConversationScope,
    page: PageRequest,
) -> Result<Page<ConversationSummary>, StoreError> {
    let b = db.get_database_backend();
    let filter = format!("c.tenant_id = $1 AND {}", visible("c.", 2, &scope));
    let base = vec![uuid(scope.tenant_id.as_uuid()), principal(&scope)];
    let count_sql = format!("SELECT COUNT(*) AS n FROM agent_conversations c WHERE {filter}");
    let total: i64 = match one(db, stmt(b, &count_sql, base.clone())).await? {
        Some(row) => get(&row, "n")?,
        None => 0,
    };
    let sql = format!(
        "SELECT p.id, p.conversation_key, p.message_count, p.created_at, p.updated_at,
             (SELECT m.content FROM agent_messages m WHERE m.conversation_id = p.id
              ORDER BY m.position DESC LIMIT 1) AS last_content
         FROM (SELECT c.id, c.conversation_key, c.message_count, c.created_at, c.updated_at
               FROM agent_conversations c WHERE {filter}
               ORDER BY c.updated_at DESC, c.id DESC LIMIT $3 OFFSET $4) p
         ORDER BY p.updated_at DESC, p.id DESC"
    );
    let mut values = base;
    values.extend([
        Value::from(to_i64(page.limit)),
        Value::from(to_i64(page.offset())),
    ]);
    let rows = all(db, stmt(b, &sql, values)).await?;
    let items = rows
        .iter()
        .map(|row| {
            let last: Option<serde_json::Value> = get(row, "last_content")?;
            Ok(ConversationSummary {
                key: ConversationKey::from_stored(get(row, "conversation_key")?),
                message_count: get(row, "message_count")?,
                last_message: last.map(|c| {
                    truncate_chars(&MessageContent::from_json(&c).text, LAST_MESSAGE_CHARS)
                }),
                created_at: get(row, "created_at")?,
                updated_at: get(row, "updated_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page {
        items,
        total: u64::try_from(total).unwrap_or(0),
    })
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'`, lower-cased.
fn like_pattern(query: &str) -> String {
    let mut out = String::from("%");
    for c in query.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Visible conversations whose key or a message's text contains `query`
/// (case-insensitive), newest first.
pub(super) async fn search(
    db: &DatabaseConnection,
    scope: ConversationScope,
    query: &str,
    limit: u64,
) -> Result<Vec<ConversationHit>, StoreError> {
    let b = db.get_database_backend();
    let text = text_of(b, "m.");
    let matches = format!("lower({text}) LIKE $3 ESCAPE '\\'");
    let sql = format!(
        "SELECT c.conversation_key,
             COALESCE(
                 (SELECT m.content FROM agent_messages m WHERE m.conversation_id = c.id AND {matches}
                  ORDER BY m.position DESC LIMIT 1),
                 (SELECT m.content FROM agent_messages m WHERE m.conversation_id = c.id
                  ORDER BY m.position DESC LIMIT 1)) AS hit_content
         FROM agent_conversations c
         WHERE c.tenant_id = $1 AND {}
           AND (lower(c.conversation_key) LIKE $3 ESCAPE '\\'
                OR EXISTS (SELECT 1 FROM agent_messages m WHERE m.conversation_id = c.id AND {matches}))
         ORDER BY c.updated_at DESC, c.id DESC LIMIT $4",
        visible("c.", 2, &scope)
    );
    let values = vec![
        uuid(scope.tenant_id.as_uuid()),
        principal(&scope),
        Value::from(like_pattern(query)),
        Value::from(to_i64(limit)),
    ];
    let rows = all(db, stmt(b, &sql, values)).await?;
    rows.iter()
        .map(|row| {
            let content: Option<serde_json::Value> = get(row, "hit_content")?;
            let text = content
                .map(|c| MessageContent::from_json(&c).text)
                .unwrap_or_default();
            Ok(ConversationHit {
                key: ConversationKey::from_stored(get(row, "conversation_key")?),
                preview: preview(&text, query),
            })
        })
        .collect()
}

/// Conversations of the tenant that `agent` started or answers, and when it last answered.
pub(super) async fn agent_usage(
    db: &DatabaseConnection,
    tenant: TenantId,
    agent: &str,
) -> Result<AgentUsage, StoreError> {
    let b = db.get_database_backend();
    let values = vec![uuid(tenant.as_uuid()), Value::from(agent)];
    let count = one(
        db,
        stmt(
            b,
            "SELECT COUNT(*) AS n FROM agent_conversations
             WHERE tenant_id = $1 AND (active_agent = $2 OR agent_entrypoint = $2)",
            values.clone(),
        ),
    )
    .await?;
    let total: i64 = match count {
        Some(row) => get(&row, "n")?,
        None => 0,
    };
    let last = one(
        db,
        stmt(
            b,
            "SELECT MAX(m.created_at) AS last_used FROM agent_messages m
             JOIN agent_conversations c ON c.id = m.conversation_id
             WHERE c.tenant_id = $1 AND m.role = 'assistant' AND m.agent_type = $2",
            values,
        ),
    )
    .await?;
    let last_used: Option<OffsetDateTime> = match last {
        Some(row) => get(&row, "last_used")?,
        None => None,
    };
    Ok(AgentUsage {
        last_used,
        total_conversations: u64::try_from(total).unwrap_or(0),
    })
}
