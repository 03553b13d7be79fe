-- Billing integrity: see m0005_postgres_up.sql.
ALTER TABLE tenant_subscriptions ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE tenant_subscriptions ADD COLUMN last_event_at timestamp_with_timezone_text;

CREATE TABLE tenant_billing (
    tenant_id uuid_text NOT NULL,
    window_anchor timestamp_with_timezone_text,
    window_start timestamp_with_timezone_text,
    window_end timestamp_with_timezone_text,
    processor varchar(32),
    processor_customer_id varchar(128),
    trial_used_at timestamp_with_timezone_text,
    CONSTRAINT pk_tenant_billing PRIMARY KEY (tenant_id),
    CONSTRAINT fk_tenant_billing_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);

INSERT INTO tenant_billing (tenant_id)
    SELECT DISTINCT tenant_id FROM tenant_subscriptions
    WHERE trial_ends_at IS NOT NULL OR processor_customer_id IS NOT NULL;
UPDATE tenant_billing SET trial_used_at = (
    SELECT MIN(s.created_at) FROM tenant_subscriptions s
    WHERE s.tenant_id = tenant_billing.tenant_id AND s.trial_ends_at IS NOT NULL);
UPDATE tenant_billing SET
    processor = (SELECT s.processor FROM tenant_subscriptions s
        WHERE s.tenant_id = tenant_billing.tenant_id AND s.processor_customer_id IS NOT NULL
        ORDER BY s.created_at DESC LIMIT 1),
    processor_customer_id = (SELECT s.processor_customer_id FROM tenant_subscriptions s
        WHERE s.tenant_id = tenant_billing.tenant_id AND s.processor_customer_id IS NOT NULL
        ORDER BY s.created_at DESC LIMIT 1);
