-- Runs: see m0007_postgres_up.sql.
CREATE TABLE agent_runs (
    id uuid_text NOT NULL,
    tenant_id uuid_text NOT NULL,
    user_id uuid_text,
    conversation_key varchar(255) NOT NULL,
    status varchar(16) NOT NULL,
    agent_used varchar(64) NOT NULL,
    started_at timestamp_with_timezone_text NOT NULL,
    finished_at timestamp_with_timezone_text,
    last_event_id bigint NOT NULL DEFAULT 0,
    error varchar(64),
    owner varchar(64) NOT NULL,
    lease_until timestamp_with_timezone_text NOT NULL,
    CONSTRAINT pk_agent_runs PRIMARY KEY (id),
    CONSTRAINT fk_agent_runs_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);
CREATE INDEX ix_agent_runs_tenant_conversation
    ON agent_runs (tenant_id, conversation_key, started_at);
CREATE INDEX ix_agent_runs_running_owner ON agent_runs (owner) WHERE status = 'running';
