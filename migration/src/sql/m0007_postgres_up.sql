-- Runs: one row per accepted chat turn. `owner` is the process running it,
-- which pushes `lease_until` forward while it runs; a `running` row whose
-- lease lapsed belongs to a process that is gone and reads `interrupted`.
CREATE TABLE agent_runs (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    user_id uuid,
    conversation_key varchar(255) NOT NULL,
    status varchar(16) NOT NULL,
    agent_used varchar(64) NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    last_event_id bigint NOT NULL DEFAULT 0,
    error varchar(64),
    owner varchar(64) NOT NULL,
    lease_until timestamptz NOT NULL,
    CONSTRAINT pk_agent_runs PRIMARY KEY (id),
    CONSTRAINT fk_agent_runs_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);
CREATE INDEX ix_agent_runs_tenant_conversation
    ON agent_runs (tenant_id, conversation_key, started_at);
CREATE INDEX ix_agent_runs_running_owner ON agent_runs (owner) WHERE status = 'running';
