DROP INDEX uq_agent_conversations_key;
CREATE UNIQUE INDEX uq_agent_conversations_tenant_key ON agent_conversations (tenant_id, conversation_key);
CREATE INDEX ix_agent_conversations_tenant_user_updated ON agent_conversations (tenant_id, user_id, updated_at);
