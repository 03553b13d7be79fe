DROP INDEX ix_agent_conversations_tenant_key_updated;
ALTER TABLE agent_conversations DROP CONSTRAINT fk_agent_conversations_api_key_id_api_keys;
ALTER TABLE agent_conversations DROP COLUMN api_key_id;
DROP TABLE api_key_usage;
DROP TABLE api_keys;
