-- Billing integrity: subscription rows are versioned (every update is
-- conditional on the version read) and remember the `created` time of the
-- last processor event applied; one billing row per tenant holds its quota
-- window (the anchor its months step from, and the last window opened), its
-- processor customer and whether its trial is used.
ALTER TABLE tenant_subscriptions ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE tenant_subscriptions ADD COLUMN last_event_at timestamptz;

CREATE TABLE tenant_billing (
    tenant_id uuid NOT NULL,
    window_anchor timestamptz,
    window_start timestamptz,
    window_end timestamptz,
    processor varchar(32),
    processor_customer_id varchar(128),
    trial_used_at timestamptz,
    CONSTRAINT pk_tenant_billing PRIMARY KEY (tenant_id),
    CONSTRAINT fk_tenant_billing_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);

-- Tenants that already had a trial or a processor customer keep them.
INSERT INTO tenant_billing (tenant_id)
    SELECT DISTINCT tenant_id FROM tenant_subscriptions
    WHERE trial_ends_at IS NOT NULL OR processor_customer_id IS NOT NULL;
UPDATE tenant_billing SET trial_used_at = (
    SELECT MIN(s.created_at) FROM tenant_subscriptions s
    WHERE s.tenant_id = tenant_billing.tenant_id AND s.trial_ends_at IS NOT NULL);
UPDATE tenant_billing SET processor = latest.processor, processor_customer_id = latest.customer
    FROM (SELECT DISTINCT ON (tenant_id) tenant_id, processor, processor_customer_id AS customer
          FROM tenant_subscriptions WHERE processor_customer_id IS NOT NULL
          ORDER BY tenant_id, created_at DESC) AS latest
    WHERE latest.tenant_id = tenant_billing.tenant_id;
