-- Conversation ids are scoped by tenant.
ALTER TABLE agent_conversations DROP CONSTRAINT uq_agent_conversations_key;
ALTER TABLE agent_conversations ADD CONSTRAINT uq_agent_conversations_tenant_key UNIQUE (tenant_id, conversation_key);
CREATE INDEX ix_agent_conversations_tenant_user_updated ON agent_conversations (tenant_id, user_id, updated_at);
